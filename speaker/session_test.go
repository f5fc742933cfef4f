package speaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lab/speaker/wire"
)

var (
	addrA = netip.MustParseAddr("2001:12::a")
	addrB = netip.MustParseAddr("2001:12::b")
	idA   = netip.MustParseAddr("0.0.0.2")
)

// pipeDialer hands the speaker one end of a net.Pipe per dial and the test
// the other; fail makes the next dials fail.
type pipeDialer struct {
	remote chan net.Conn
	fail   chan bool
}

func newPipeDialer() *pipeDialer {
	return &pipeDialer{remote: make(chan net.Conn, 4), fail: make(chan bool, 4)}
}

func (d *pipeDialer) Dial(ctx context.Context, p *PeerConfig) (net.Conn, error) {
	select {
	case f := <-d.fail:
		if f {
			return nil, errors.New("connection refused (test)")
		}
	default:
	}
	a, b := net.Pipe()
	select {
	case d.remote <- b:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// scripted is the test's side of a connection: a scripted BGP speaker.
type scripted struct {
	t    *testing.T
	c    net.Conn
	opts wire.Options
	buf  []byte
}

func (p *scripted) send(m wire.Message) {
	p.t.Helper()
	b, err := m.AppendTo(nil, &p.opts)
	if err != nil {
		p.t.Fatalf("encode %s: %v", m.Type(), err)
	}
	p.sendRaw(b)
}

func (p *scripted) sendRaw(b []byte) {
	p.t.Helper()
	p.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *scripted) recv() wire.Message {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := wire.ReadMessage(p.c, p.buf, p.opts.MaxLen())
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	m, err := wire.Parse(b, &p.opts)
	if err != nil {
		p.t.Fatalf("parse: %v", err)
	}
	return m
}

// expect reads the next message and checks its type.
func expect[T wire.Message](p *scripted) T {
	p.t.Helper()
	m := p.recv()
	v, ok := m.(T)
	if !ok {
		var zero T
		p.t.Fatalf("got %s (%v), want %T", m.Type(), wire.Summary(m), zero)
	}
	return v
}

func (p *scripted) expectNotification(code, sub uint8) *wire.Notification {
	p.t.Helper()
	for {
		m := p.recv()
		if n, ok := m.(*wire.Notification); ok {
			if n.Code != code || n.Subcode != sub {
				p.t.Fatalf("NOTIFICATION %v, want %d/%d", n, code, sub)
			}
			return n
		}
	}
}

// expectClosed checks the speaker closed the connection.
func (p *scripted) expectClosed() {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := wire.ReadMessage(p.c, p.buf, 0); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		p.t.Fatalf("connection not closed: %v", err)
	}
}

type harness struct {
	t     *testing.T
	sp    *Speaker
	clock *FakeClock
	dial  *pipeDialer
	log   *bytes.Buffer
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: NewFakeClock(time.Date(2017, 12, 15, 14, 14, 40, 0, time.UTC)), dial: newPipeDialer(), log: &bytes.Buffer{}}
	cfg := Config{
		Name: "as1ra", AS: 1, RouterID: idA, NoKernel: true, CompareRouterID: true,
		Timers: DefaultTimers, Clock: h.clock, Dialer: h.dial, Log: &syncWriter{w: h.log},
		Peers: []PeerConfig{{Description: "as2rb (eBGP)", LocalAddr: addrA, PeerAddr: addrB, PeerAS: 2, Interface: "as1ra-eth0",
			NextHop6: addrA}},
		Originate: []Origination{{Prefix: netip.MustParsePrefix("2001:1234:1::/64")}},
	}
	if mod != nil {
		mod(&cfg)
	}
	sp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.sp = sp
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return h
}

type syncWriter struct {
	w io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) { return s.w.Write(b) }

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// waitState waits until the peer is in state st.
func (h *harness) waitState(addr netip.Addr, st State) {
	h.t.Helper()
	err := h.sp.WaitFor(h.ctx(), func(s *Snapshot) bool { return s.Neighbor(addr).State == st })
	if err != nil {
		snap, _ := h.sp.Snapshot(context.Background())
		got := State(255)
		if snap != nil {
			got = snap.Neighbor(addr).State
		}
		h.t.Fatalf("peer %v: state %v, want %v: %v", addr, got, st, err)
	}
}

// advance moves the fake clock by d once a timer due within d is armed.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if at, ok := h.clock.Next(); ok && !at.After(h.clock.Now().Add(d)) {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no timer due within %v to advance to", d)
		}
		time.Sleep(time.Millisecond)
	}
	h.clock.Advance(d)
}

func (h *harness) remote() *scripted {
	h.t.Helper()
	select {
	case c := <-h.dial.remote:
		return &scripted{t: h.t, c: c}
	case <-time.After(5 * time.Second):
		h.t.Fatal("the speaker did not dial")
	}
	return nil
}

// inbound gives the speaker a connection from addr, as its listener does.
func (h *harness) inbound(addr netip.Addr) *scripted {
	a, b := net.Pipe()
	go h.sp.HandleConn(a, addr)
	return &scripted{t: h.t, c: b}
}

func peerOpen(as uint32, hold uint16, id string, fams ...wire.Family) *wire.Open {
	if len(fams) == 0 {
		fams = []wire.Family{wire.IPv6Unicast}
	}
	var caps []wire.Capability
	for _, f := range fams {
		caps = append(caps, wire.CapMultiprotocol(f))
	}
	caps = append(caps, wire.CapRouteRefresh{}, wire.CapAS4{AS: as}, wire.CapGracefulRestart{Time: 120})
	return wire.NewOpen(as, hold, netip.MustParseAddr(id), caps...)
}

// establish runs the OPEN exchange on p up to Established.
func (h *harness) establish(p *scripted, o *wire.Open) *wire.Open {
	h.t.Helper()
	got := expect[*wire.Open](p)
	p.send(o)
	p.opts = wire.Negotiate(o, got)
	expect[*wire.Keepalive](p)
	p.send(&wire.Keepalive{})
	h.waitState(addrB, Established)
	return got
}

func TestOpenLikeSeed(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	o := expect[*wire.Open](p)
	want := &wire.Open{Version: 4, MyAS: 1, HoldTime: 180, ID: idA, Capabilities: []wire.Capability{
		wire.CapMultiprotocol{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast},
		wire.CapRouteRefresh{CapCode: wire.CapCodeRouteRefreshCisco},
		wire.CapRouteRefresh{},
		wire.CapAS4{AS: 1},
		wire.CapGracefulRestart{Time: 120},
	}}
	if diff := cmp.Diff(want, o, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("OPEN (-want +got):\n%s", diff)
	}
}

// The whole life of a session: Connect, OpenSent, OpenConfirm,
// Established, the initial table and End-of-RIB, keepalive cadence on the
// negotiated hold time, hold timer expiry with 4/0, Idle, idle hold, and
// Connect again.
func TestSessionLifeAndHoldTimerExpiry(t *testing.T) {
	h := newHarness(t, nil)
	events, stop := h.sp.Subscribe()
	defer stop()
	p := h.remote()
	expect[*wire.Open](p)
	h.waitState(addrB, OpenSent)
	p.send(peerOpen(2, 90, "0.0.0.3"))
	p.opts = wire.Options{AS4: true}
	expect[*wire.Keepalive](p)
	h.waitState(addrB, OpenConfirm)
	p.send(&wire.Keepalive{})
	h.waitState(addrB, Established)

	// The initial table, then End-of-RIB.
	u := expect[*wire.Update](p)
	r, ok := u.MPReach()
	if !ok || len(r.NLRI) != 1 || r.NLRI[0] != netip.MustParsePrefix("2001:1234:1::/64") {
		t.Fatalf("first UPDATE: %s", wire.Summary(u))
	}
	if path, _ := u.ASPath(); path.String() != "1" {
		t.Errorf("AS path %q, want \"1\"", path.String())
	}
	if med, ok := u.MED(); !ok || med.Value != 0 {
		t.Errorf("MED %v %v, want 0 as the seed's Quagga", med, ok)
	}
	if r.NextHops[0] != addrA {
		t.Errorf("next hop %v, want %v", r.NextHops, addrA)
	}
	eor := expect[*wire.Update](p)
	if afi, safi, ok := eor.IsEndOfRIB(); !ok || afi != wire.AFIIPv6 || safi != wire.SAFIUnicast {
		t.Fatalf("second UPDATE is not the IPv6 End-of-RIB: %s", wire.Summary(eor))
	}
	p.send(wire.NewEndOfRIB(wire.AFIIPv6, wire.SAFIUnicast))
	// The End-of-RIB must be taken in before the clock moves: the session
	// goroutine may otherwise see the timers first and drop the
	// connection with the UPDATE still queued.
	if err := h.sp.WaitFor(h.ctx(), func(s *Snapshot) bool { return len(s.Neighbor(addrB).EndOfRIBReceived) > 0 }); err != nil {
		t.Fatalf("End-of-RIB not received: %v", err)
	}

	n, err := h.sp.Neighbor(h.ctx(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	// Negotiated: hold = min(180, 90), keepalive = min(60, 90/3).
	if n.HoldTime != 90*time.Second || n.Keepalive != 30*time.Second {
		t.Errorf("negotiated hold %v keepalive %v, want 1m30s 30s", n.HoldTime, n.Keepalive)
	}
	if n.RemoteRouterID != netip.MustParseAddr("0.0.0.3") {
		t.Errorf("remote router ID %v", n.RemoteRouterID)
	}
	// Keepalive cadence: one every 30 s.
	for i := 0; i < 2; i++ {
		h.advance(30 * time.Second)
		expect[*wire.Keepalive](p)
	}
	// 90 s without a message from the peer: Hold Timer Expired.
	h.advance(30 * time.Second)
	p.expectNotification(wire.CodeHoldTimerExpired, 0)
	p.expectClosed()
	h.waitState(addrB, Idle)

	n, _ = h.sp.Neighbor(h.ctx(), addrB)
	if n.ConnectionsEstablished != 1 || n.ConnectionsDropped != 1 {
		t.Errorf("connections established %d dropped %d, want 1 1", n.ConnectionsEstablished, n.ConnectionsDropped)
	}
	if !strings.Contains(n.LastReset, "BGP Notification send") || !strings.Contains(n.LastReset, "Hold Timer Expired") {
		t.Errorf("last reset %q", n.LastReset)
	}
	if n.Sent.Opens != 1 || n.Rcvd.Opens != 1 || n.Sent.Notifications != 1 || n.Sent.Keepalives != 3 || n.Rcvd.Keepalives != 1 || n.Sent.Updates != 2 || n.Rcvd.Updates != 1 {
		t.Errorf("message counts sent %+v rcvd %+v", n.Sent, n.Rcvd)
	}
	if !cmp.Equal(n.EndOfRIBReceived, []string(nil)) && n.State == Established {
		t.Errorf("EoR received %v", n.EndOfRIBReceived)
	}
	logs := strings.Join(h.sp.LogLines(), "\n")
	for _, want := range []string{
		"BGP: %ADJCHANGE: neighbor 2001:12::b Up",
		"BGP: %NOTIFICATION: sent to neighbor 2001:12::b 4/0 (Hold Timer Expired) 0 bytes",
		"BGP: %ADJCHANGE: neighbor 2001:12::b Down BGP Notification send",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	// Idle hold (1 s), then Connect and a new dial.
	h.advance(time.Second)
	p2 := h.remote()
	expect[*wire.Open](p2)

	// Every transition, in order.
	var states []State
	for len(events) > 0 {
		e := <-events
		if e.Kind == EventPeerState {
			states = append(states, e.State)
		}
	}
	if len(states) > 0 && states[0] == Connect {
		states = states[1:] // the first dial may precede Subscribe
	}
	want := []State{OpenSent, OpenConfirm, Established, Idle, Connect, OpenSent}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestEndOfRIBReceived(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	expect[*wire.Update](p)
	expect[*wire.Update](p)
	p.send(&wire.Update{Attrs: []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB, netip.MustParseAddr("fe80::b")},
			NLRI: []netip.Prefix{netip.MustParsePrefix("2001:1234:2::/64")}},
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{2}}}}, wire.MED{},
	}})
	p.send(wire.NewEndOfRIB(wire.AFIIPv6, wire.SAFIUnicast))
	err := h.sp.WaitFor(h.ctx(), func(s *Snapshot) bool {
		n := s.Neighbor(addrB)
		return len(n.EndOfRIBReceived) == 1 && n.Families[0].AcceptedPrefixes == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := h.sp.Route(h.ctx(), netip.MustParsePrefix("2001:1234:2::/64"))
	if err != nil || rt == nil {
		t.Fatalf("route: %v %v", rt, err)
	}
	b := rt.Best()
	if b == nil || b.ASPath != "2" || b.NextHop != addrB || b.LinkLocal != netip.MustParseAddr("fe80::b") || !b.HasMetric || b.Weight != 0 || rt.BestReason != "First path received" {
		t.Errorf("best path %+v reason %q", b, rt.BestReason)
	}
	// A path with our own AS is a loop: it replaces (withdraws) the path.
	p.send(&wire.Update{Attrs: []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB},
			NLRI: []netip.Prefix{netip.MustParsePrefix("2001:1234:2::/64")}},
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{2, 1}}}},
	}})
	err = h.sp.WaitFor(h.ctx(), func(s *Snapshot) bool {
		return s.Table(wire.IPv6Unicast).Route(netip.MustParsePrefix("2001:1234:2::/64")) == nil
	})
	if err != nil {
		t.Fatalf("looped path still in the table: %v", err)
	}
}

func rawOpen(t *testing.T, o *wire.Open) []byte {
	b, err := o.AppendTo(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name     string
		open     func(t *testing.T) []byte
		sub      uint8
		data     []byte
		checkLog string
	}{
		{"Bad Peer AS (seed 001)", func(t *testing.T) []byte { return rawOpen(t, peerOpen(22, 180, "0.0.0.3")) },
			wire.SubcodeBadPeerAS, []byte{0, 22}, "2/2 (OPEN Message Error/Bad Peer AS) 2 bytes"},
		{"unsupported version", func(t *testing.T) []byte {
			b := rawOpen(t, peerOpen(2, 180, "0.0.0.3"))
			b[wire.HeaderLen] = 3
			return b
		}, wire.SubcodeUnsupportedVersionNumber, []byte{0, 4}, "2/1"},
		{"hold time 2", func(t *testing.T) []byte {
			b := rawOpen(t, peerOpen(2, 180, "0.0.0.3"))
			b[wire.HeaderLen+3], b[wire.HeaderLen+4] = 0, 2
			return b
		}, wire.SubcodeUnacceptableHoldTime, nil, "2/6"},
		{"zero BGP identifier", func(t *testing.T) []byte {
			b := rawOpen(t, peerOpen(2, 180, "0.0.0.3"))
			copy(b[wire.HeaderLen+5:], []byte{0, 0, 0, 0})
			return b
		}, wire.SubcodeBadBGPIdentifier, nil, "2/3"},
		{"no common family", func(t *testing.T) []byte { return rawOpen(t, peerOpen(2, 180, "0.0.0.3", wire.IPv4Unicast)) },
			wire.SubcodeUnsupportedCapability, nil, "2/7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Peers[0].Passive = true })
			h.waitState(addrB, Active)
			p := h.inbound(addrB)
			expect[*wire.Open](p)
			p.sendRaw(tt.open(t))
			n := p.expectNotification(wire.CodeOpenMessage, tt.sub)
			if tt.data != nil && !bytes.Equal(n.Data, tt.data) {
				t.Errorf("data % x, want % x", n.Data, tt.data)
			}
			p.expectClosed()
			h.waitState(addrB, Idle)
			if logs := strings.Join(h.sp.LogLines(), "\n"); !strings.Contains(logs, "%NOTIFICATION: sent to neighbor 2001:12::b "+tt.checkLog) {
				t.Errorf("log lacks the NOTIFICATION %s:\n%s", tt.checkLog, logs)
			}
		})
	}
}

// An iBGP peer may not use our BGP identifier (RFC 6286).
func TestOpenSameIdentifierIBGP(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Peers[0].PeerAS = 1; c.Peers[0].Passive = true })
	h.waitState(addrB, Active)
	p := h.inbound(addrB)
	expect[*wire.Open](p)
	p.send(peerOpen(1, 180, "0.0.0.2"))
	p.expectNotification(wire.CodeOpenMessage, wire.SubcodeBadBGPIdentifier)
}

func TestUnknownPeerRefused(t *testing.T) {
	h := newHarness(t, nil)
	p := h.inbound(netip.MustParseAddr("2001:99::9"))
	p.expectClosed()
	if h.sp.sess.Refused() != 1 {
		t.Errorf("refused = %d", h.sp.sess.Refused())
	}
	if logs := strings.Join(h.sp.LogLines(), "\n"); !strings.Contains(logs, "2001:99::9 refused") {
		t.Errorf("log: %s", logs)
	}
}

// Connect -> Active on a failed dial, Active -> Connect when ConnectRetry
// expires (jittered 75-100% of 120 s), then OpenSent.
func TestConnectRetry(t *testing.T) {
	h := newHarness(t, func(c *Config) {})
	// The first dial already happened at Start: fail the second.
	p := h.remote()
	p.c.Close()
	h.waitState(addrB, Idle)
	h.dial.fail <- true
	h.clock.Advance(time.Second) // idle hold
	h.waitState(addrB, Active)
	h.clock.Advance(89 * time.Second)
	select {
	case <-h.dial.remote:
		t.Fatal("dialled before 75% of ConnectRetry")
	default:
	}
	h.clock.Advance(31 * time.Second)
	p = h.remote()
	expect[*wire.Open](p)
	h.waitState(addrB, OpenSent)
}

// Collision detection (RFC 4271 section 6.8), both ways: the connection
// opened by the speaker with the higher BGP identifier stays.
func TestCollision(t *testing.T) {
	for _, tc := range []struct {
		peerID      string
		keepInbound bool
	}{{"0.0.0.9", true}, {"0.0.0.1", false}} {
		t.Run("peer "+tc.peerID, func(t *testing.T) {
			h := newHarness(t, nil)
			out := h.remote() // the speaker dialled
			expect[*wire.Open](out)
			in := h.inbound(addrB) // the peer dialled too
			expect[*wire.Open](in)
			// The first OPEN tells the peer's identifier and decides at
			// once, before the other connection's OPEN arrives.
			o := peerOpen(2, 180, tc.peerID)
			out.send(o)
			winner := out
			if tc.keepInbound {
				out.expectNotification(wire.CodeCease, wire.SubcodeConnectionCollision)
				in.send(o)
				expect[*wire.Keepalive](in)
				winner = in
			} else {
				expect[*wire.Keepalive](out) // out is in OpenConfirm
				in.expectNotification(wire.CodeCease, wire.SubcodeConnectionCollision)
			}
			winner.opts = wire.Options{AS4: true}
			winner.send(&wire.Keepalive{})
			h.waitState(addrB, Established)
			n, _ := h.sp.Neighbor(h.ctx(), addrB)
			if n.ConnectionsEstablished != 1 {
				t.Errorf("established %d", n.ConnectionsEstablished)
			}
		})
	}
}

// A NOTIFICATION from the peer in Established: Idle, and the log says so.
func TestNotificationReceived(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	p.send(wire.NewShutdown(wire.SubcodeAdminShutdown, "maintenance"))
	h.waitState(addrB, Idle)
	n, _ := h.sp.Neighbor(h.ctx(), addrB)
	if !strings.Contains(n.LastReset, "BGP Notification received") {
		t.Errorf("last reset %q", n.LastReset)
	}
	// FRR's log line: the shutdown communication, quoted, for its length.
	want := `%NOTIFICATION: received from neighbor 2001:12::b 6/2 (Cease/Administrative Shutdown) "maintenance"`
	if logs := strings.Join(h.sp.LogLines(), "\n"); !strings.Contains(logs, want) {
		t.Errorf("log lacks %s:\n%s", want, logs)
	}
}

// Administrative shutdown and reset of a peer, and Close, send the Cease
// subcodes of RFC 4486.
func TestAdminControl(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	if err := h.sp.ResetPeer(addrB, true); err != nil {
		t.Fatal(err)
	}
	p.expectNotification(wire.CodeCease, wire.SubcodeAdminReset)
	p = h.remote() // reconnects at once
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	if err := h.sp.SetPeerShutdown(addrB, true, ""); err != nil {
		t.Fatal(err)
	}
	p.expectNotification(wire.CodeCease, wire.SubcodeAdminShutdown)
	h.waitState(addrB, Idle)
	h.clock.Advance(time.Hour)
	select {
	case <-h.dial.remote:
		t.Fatal("a shut down peer dialled")
	default:
	}
	h.sp.SetPeerShutdown(addrB, false, "")
	p = h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	done := make(chan struct{})
	go func() { h.sp.Close(); close(done) }()
	p.expectNotification(wire.CodeCease, wire.SubcodeAdminShutdown)
	<-done
}

func TestConfigErrors(t *testing.T) {
	base := Config{Name: "r", AS: 1, RouterID: idA, NoKernel: true}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.AS = 0 }, "AS 0"},
		{func(c *Config) { c.RouterID = netip.MustParseAddr("::1") }, "router ID"},
		{func(c *Config) { c.Timers = Timers{Hold: 2 * time.Second, Keepalive: time.Second} }, "hold time"},
		{func(c *Config) {
			c.Peers = []PeerConfig{{PeerAddr: addrB, PeerAS: 2}, {PeerAddr: addrB, PeerAS: 3}}
		}, "configured twice"},
		{func(c *Config) {
			c.Peers = []PeerConfig{{PeerAddr: addrB, PeerAS: 2, Families: []wire.Family{{AFI: wire.AFIIPv4, SAFI: 128}}}}
		}, "only IPv4 and IPv6 unicast"},
		{func(c *Config) { c.Originate = []Origination{{Prefix: netip.MustParsePrefix("2001:db8::1/64")}} }, "masked"},
	} {
		cfg := base
		tc.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want an error with %q", err, tc.want)
		}
	}
}

func ExampleFakeClock() {
	c := NewFakeClock(time.Unix(0, 0))
	tm := c.NewTimer(time.Minute)
	c.Advance(time.Minute)
	<-tm.C()
	fmt.Println(c.Now().Unix())
	// Output: 60
}

// gatedDialer holds every dial until its gate opens, as a TCP connect to
// a busy peer takes a while; a dial cancelled meanwhile fails as a real
// one would.
type gatedDialer struct {
	*pipeDialer
	gate chan struct{}
}

func (d *gatedDialer) Dial(ctx context.Context, p *PeerConfig) (net.Conn, error) {
	select {
	case <-d.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.pipeDialer.Dial(ctx, p)
}

// Both speakers dial at once and the peer's connection arrives while ours
// is still being dialled. Our dial must go on: on the peer's side it has
// often completed already, and cancelling it would kill the connection the
// peer just accepted while the peer kills ours the same way. Both reach
// OpenSent and the first OPEN decides.
func TestCollisionWhileDialling(t *testing.T) {
	d := &gatedDialer{pipeDialer: newPipeDialer(), gate: make(chan struct{})}
	h := newHarness(t, func(c *Config) { c.Dialer = d })
	in := h.inbound(addrB)
	expect[*wire.Open](in)
	close(d.gate)
	var out *scripted
	select {
	case c := <-d.remote:
		out = &scripted{t: t, c: c}
	case <-time.After(5 * time.Second):
		t.Fatal("the dial under way was abandoned when the peer's connection arrived")
	}
	expect[*wire.Open](out)
	o := peerOpen(2, 180, "0.0.0.1") // lower than ours: our connection stays
	out.send(o)
	expect[*wire.Keepalive](out)
	in.expectNotification(wire.CodeCease, wire.SubcodeConnectionCollision)
	out.opts = wire.Options{AS4: true}
	out.send(&wire.Keepalive{})
	h.waitState(addrB, Established)
}

// The peer decides a collision first and closes the connection it
// initiated with Cease/Connection Collision Resolution, while ours is
// still being dialled: that is no failure (no idle hold), and our
// connection, when it completes, is accepted and established.
func TestCollisionLostWhileDialling(t *testing.T) {
	d := &gatedDialer{pipeDialer: newPipeDialer(), gate: make(chan struct{})}
	h := newHarness(t, func(c *Config) { c.Dialer = d })
	in := h.inbound(addrB)
	expect[*wire.Open](in)
	in.send(&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeConnectionCollision})
	h.waitState(addrB, Connect)
	close(d.gate)
	var out *scripted
	select {
	case c := <-d.remote:
		out = &scripted{t: t, c: c}
	case <-time.After(5 * time.Second):
		t.Fatal("our dial did not complete after the peer dropped its connection")
	}
	h.establish(out, peerOpen(2, 180, "0.0.0.9"))
	h.waitState(addrB, Established)
	n, _ := h.sp.Neighbor(h.ctx(), addrB)
	if strings.Contains(n.LastReset, "Notification received") {
		t.Errorf("a lost collision counted as a reset: %q", n.LastReset)
	}
}

func TestStateText(t *testing.T) {
	for st := Idle; st <= Established; st++ {
		b, err := st.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got State
		if err := got.UnmarshalText(b); err != nil || got != st {
			t.Errorf("%s: round trip gave %v, %v", st, got, err)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("Up")); err == nil {
		t.Error("UnmarshalText accepted an unknown state")
	}
}

// With DialDelay, the speaker waits in Active for the peer's connection
// and accepts it without dialling; without one coming, it dials when the
// delay ends.
func TestDialDelay(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Peers[0].DialDelay = 500 * time.Millisecond })
	h.waitState(addrB, Active)
	select {
	case <-h.dial.remote:
		t.Fatal("dialled before the delay ended")
	default:
	}
	in := h.inbound(addrB)
	h.establish(in, peerOpen(2, 180, "0.0.0.9"))
	h.waitState(addrB, Established)

	h2 := newHarness(t, func(c *Config) { c.Peers[0].DialDelay = 500 * time.Millisecond })
	h2.waitState(addrB, Active)
	h2.clock.Advance(500 * time.Millisecond)
	h2.establish(h2.remote(), peerOpen(2, 180, "0.0.0.9"))
	h2.waitState(addrB, Established)
}

// A collision lost on an Established connection (the peer, seeing both
// connections, dropped the one we had established) restarts the session
// at once, without idle hold.
func TestCollisionLostWhenEstablished(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.9"))
	h.waitState(addrB, Established)
	p.send(&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeConnectionCollision})
	// A new dial at once, no idle hold: the fake clock does not move.
	p2 := h.remote()
	h.establish(p2, peerOpen(2, 180, "0.0.0.9"))
	h.waitState(addrB, Established)
}
