package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lab/speaker"
	"lab/topo"
)

// exabgp is ExaBGP in the external router's namespace. Its API process is
// a shell that copies ExaBGP's JSON events to events.json and copies the
// commands written to the cmd FIFO to ExaBGP: the test reads the one and
// writes the other.
type exabgp struct {
	l      *testLab
	events string
	fifo   string
	proc   *daemonProc
}

func TestExaBGP(t *testing.T) {
	runScenario(t, exabgpScenario())
}

// exabgpScenario is the common scenario with ExaBGP.
func exabgpScenario() scenario {
	return scenario{
		showsLinkLocal: true,
		bins:           []string{"exabgp"},
		// Over TCP MD5, as the seed's ExaBGP guide configures it.
		spec:  labSpec{peer: "exabgp", ourAS: 65001, peerAS: 65002, password: "exabgp-md5-key"},
		start: func(t *testing.T, l *testLab) daemon { return startExaBGP(t, l, false) },
		// `teardown 2` sends Cease/Administrative Shutdown with a
		// shutdown communication of its own.
		shutdownText: "Administrative Shutdown",
	}
}

// asTrans is AS_TRANS, the AS a speaker without 4-octet AS numbers sees
// in place of one (RFC 6793 section 9).
const asTrans = 23456

// exaRoute is an ExaBGP route statement for one of the daemon's routes.
func exaRoute(l *testLab, pfx netip.Prefix, attr bool) string {
	// ExaBGP sends the AS path it is given: it does not put its own AS
	// first on an eBGP session, as the other daemons do.
	s := fmt.Sprintf("route %v next-hop self origin igp as-path [ %d %d ]", pfx, l.peer.AS.Number, peerPrepend)
	if attr {
		s += fmt.Sprintf(" med %d community [ %s ] large-community [ %s ]", peerMED,
			strings.Join(peerCommunities, " "), peerLarge(l.peer.AS.Number))
	}
	return s
}

// startExaBGP configures ExaBGP from the lab's model. twoOctet makes it a
// speaker without 4-octet AS numbers (no AS4 capability), which knows our
// 4-octet AS as AS_TRANS (RFC 6793).
func startExaBGP(t testing.TB, l *testLab, twoOctet bool) *exabgp {
	t.Helper()
	p := l.peer
	d := &exabgp{l: l, events: filepath.Join(l.dir, "events.json"), fifo: filepath.Join(l.dir, "cmd.fifo")}
	if err := syscall.Mkfifo(d.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The FIFO is opened read-write so that it never reports end of file
	// between two commands.
	script := filepath.Join(l.dir, "api.sh")
	err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\nexec 3<>%q\ncat <&3 &\nexec cat > %q\n", d.fifo, d.events)), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "process api {\n  run /bin/sh %s;\n  encoder json;\n}\n", script)
	peerAS, caps := l.us.AS.Number, "route-refresh;"
	md5 := ""
	if l.spec.password != "" {
		md5 = fmt.Sprintf("md5-password %q;", l.spec.password)
	}
	if twoOctet {
		caps += " asn4 disable;"
		if peerAS > 0xffff {
			peerAS = asTrans
		}
	}
	receive := l.spec.exaReceive
	if receive == "" {
		receive = "parsed; packets; update; notification;"
	}
	for _, f := range families {
		fmt.Fprintf(&b, `
neighbor %v {
  router-id %v;
  local-address %v;
  local-as %d;
  peer-as %d;
  %s
  family { %s unicast; }
  capability { %s }
  api {
    processes [ api ];
    neighbor-changes;
    receive { %s }
    send { notification; }
  }
  static {
    %s;
    %s;
  }
}
`, l.ourAddr[f], p.RouterID, l.peerAddr[f], p.AS.Number, peerAS, md5, strings.ToLower(f.String()), caps, receive,
			exaRoute(l, attrPrefix(false, f), true), exaRoute(l, plainPrefix(false, f), false))
	}
	conf := filepath.Join(l.dir, "exabgp.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"exabgp.daemon.user=root",
		"exabgp.daemon.daemonize=false",
		"exabgp.daemon.pid=" + filepath.Join(l.dir, "exabgp.pid"),
		"exabgp.log.destination=" + filepath.Join(l.dir, "exabgp.log"),
		"exabgp.log.level=INFO",
		"exabgp.api.cli=false",
		// Listen too (by default ExaBGP only connects): our speaker
		// dials as well.
		fmt.Sprintf("exabgp.tcp.bind=%v %v", l.peerAddr[topo.IPv4], l.peerAddr[topo.IPv6]),
	}
	d.proc = startDaemon(t, l.peerNS(), l.dir, "exabgp", env, "exabgp", conf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("exabgp.log:\n%s", tail(filepath.Join(l.dir, "exabgp.log"), 60))
			t.Logf("events.json:\n%s", tail(d.events, 30))
		}
	})
	// ExaBGP has no control socket here: it is up once its API process
	// runs, which creates events.json.
	poll(t, 60*time.Second, "ExaBGP's API process", func() (bool, string) {
		if err := d.proc.running(); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(d.events)
		return err == nil, fmt.Sprint(err)
	})
	return d
}

// command writes an API command to ExaBGP.
func (d *exabgp) command(cmd string) error {
	f, err := os.OpenFile(d.fifo, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(cmd + "\n")
	return err
}

// exaEvent is one JSON line ExaBGP writes to its API process.
type exaEvent struct {
	Type     string `json:"type"`
	Neighbor struct {
		Address struct {
			Peer string `json:"peer"`
		} `json:"address"`
		State     string `json:"state"`
		Reason    string `json:"reason"`
		Direction string `json:"direction"`
		Message   struct {
			Update *struct {
				Attribute *struct {
					Origin    string     `json:"origin"`
					ASPath    []uint32   `json:"as-path"`
					MED       *uint32    `json:"med"`
					Community [][]uint32 `json:"community"`
					Large     [][]uint32 `json:"large-community"`
				} `json:"attribute"`
				// Announce is family -> next hop -> NLRI.
				Announce map[string]map[string][]struct {
					NLRI string `json:"nlri"`
				} `json:"announce"`
				Withdraw map[string][]struct {
					NLRI string `json:"nlri"`
				} `json:"withdraw"`
			} `json:"update"`
			// Body is the raw UPDATE after its header, "0x..." in hex:
			// with `receive { packets; }`, ExaBGP reports each message
			// twice, raw then parsed, as two events.
			Body string `json:"body"`
		} `json:"message"`
	} `json:"neighbor"`
}

// exaState is what ExaBGP's events say about one neighbour.
type exaState struct {
	state  string
	routes map[netip.Prefix]*peerRoute
	// lastDown is why the last Established session went down, in
	// ExaBGP's words: "peer reset, message (notification received (6,2))
	// error(Cease / Administrative Shutdown)". The connections refused
	// afterwards (ExaBGP keeps connecting) go down too, and are not it.
	lastDown string
	wasUp    bool
	// raw is the body of the last UPDATE that announced each prefix, in
	// hex, when ExaBGP reports packets.
	raw     map[netip.Prefix]string
	lastRaw string
}

// replay reads every event so far and returns the state per neighbour.
func (d *exabgp) replay() (map[netip.Addr]*exaState, error) {
	f, err := os.Open(d.events)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[netip.Addr]*exaState{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue // "done", the acknowledgement of a command
		}
		// ExaBGP 4.2 writes the raw NOTIFICATION data into the "reason"
		// of a state event, control characters included (the length
		// byte of a shutdown communication): invalid JSON, blanked.
		for i, c := range line {
			if c < 0x20 {
				line[i] = ' '
			}
		}
		var ev exaEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("event %s: %w", line, err)
		}
		peer, err := netip.ParseAddr(ev.Neighbor.Address.Peer)
		if err != nil {
			continue
		}
		st := out[peer]
		if st == nil {
			st = &exaState{routes: map[netip.Prefix]*peerRoute{}, raw: map[netip.Prefix]string{}}
			out[peer] = st
		}
		switch ev.Type {
		case "state":
			st.state = ev.Neighbor.State
			switch st.state {
			case "up":
				st.wasUp = true
			case "down":
				clear(st.routes)
				if st.wasUp {
					st.lastDown, st.wasUp = ev.Neighbor.Reason, false
				}
			}
		case "update":
			if ev.Neighbor.Direction != "receive" {
				continue
			}
			if b := ev.Neighbor.Message.Body; b != "" {
				st.lastRaw = b
				continue
			}
			u := ev.Neighbor.Message.Update
			if u == nil {
				continue
			}
			for _, ws := range u.Withdraw {
				for _, w := range ws {
					if p, err := netip.ParsePrefix(w.NLRI); err == nil {
						delete(st.routes, p)
					}
				}
			}
			for _, byNH := range u.Announce {
				// ExaBGP lists an IPv6 next hop of a global and a
				// link-local address (RFC 2545) as two next hops with
				// the same NLRI: one route, with both.
				var ll netip.Addr
				for nh := range byNH {
					if a, err := netip.ParseAddr(nh); err == nil && a.IsLinkLocalUnicast() && len(byNH) > 1 {
						ll = a
					}
				}
				for nh, nlris := range byNH {
					if a, err := netip.ParseAddr(nh); err == nil && a == ll {
						continue
					}
					r := exaPeerRoute(u.Attribute, nh)
					r.LinkLocal = ll
					for _, n := range nlris {
						if p, err := netip.ParsePrefix(n.NLRI); err == nil {
							st.routes[p] = r
							st.raw[p] = st.lastRaw
						}
					}
				}
			}
		}
	}
	return out, sc.Err()
}

func exaPeerRoute(a *struct {
	Origin    string     `json:"origin"`
	ASPath    []uint32   `json:"as-path"`
	MED       *uint32    `json:"med"`
	Community [][]uint32 `json:"community"`
	Large     [][]uint32 `json:"large-community"`
}, nh string) *peerRoute {
	r := &peerRoute{}
	r.NextHop, _ = netip.ParseAddr(nh)
	if a == nil {
		return r
	}
	r.Origin = map[string]string{"igp": "i", "egp": "e", "incomplete": "?"}[a.Origin]
	var path []string
	for _, as := range a.ASPath {
		path = append(path, fmt.Sprint(as))
	}
	r.ASPath = strings.Join(path, " ")
	if a.MED != nil {
		r.MED, r.HasMED = *a.MED, true
	}
	for _, c := range a.Community {
		if len(c) == 2 {
			r.Communities = append(r.Communities, fmt.Sprintf("%d:%d", c[0], c[1]))
		}
	}
	r.Communities = sorted(r.Communities)
	for _, c := range a.Large {
		if len(c) == 3 {
			r.LargeCommunities = append(r.LargeCommunities, fmt.Sprintf("%d:%d:%d", c[0], c[1], c[2]))
		}
	}
	r.LargeCommunities = sorted(r.LargeCommunities)
	return r
}

func (d *exabgp) neighbor(a netip.Addr) (*exaState, error) {
	all, err := d.replay()
	if err != nil {
		return nil, err
	}
	if st := all[a]; st != nil {
		return st, nil
	}
	return &exaState{}, nil
}

func (d *exabgp) established(_ context.Context, a netip.Addr) (bool, string, error) {
	st, err := d.neighbor(a)
	if err != nil {
		return false, "", err
	}
	return st.state == "up", fmt.Sprintf("state %q", st.state), nil
}

func (d *exabgp) receivedCease(_ context.Context, a netip.Addr) (bool, string, error) {
	st, err := d.neighbor(a)
	if err != nil {
		return false, "", err
	}
	ok := st.state != "up" && strings.Contains(st.lastDown, "notification received (6,2)")
	return ok, fmt.Sprintf("state %q, last down %q", st.state, st.lastDown), nil
}

func (d *exabgp) holdExpired(_ context.Context, a netip.Addr) (bool, string, error) {
	st, err := d.neighbor(a)
	if err != nil {
		return false, "", err
	}
	ok := st.state != "up" && strings.Contains(strings.ToLower(st.lastDown), "hold timer expired")
	return ok, fmt.Sprintf("state %q, last down %q", st.state, st.lastDown), nil
}

func (d *exabgp) route(_ context.Context, pfx netip.Prefix) (*peerRoute, error) {
	all, err := d.replay()
	if err != nil {
		return nil, err
	}
	for _, st := range all {
		if r := st.routes[pfx]; r != nil {
			return r, nil
		}
	}
	return nil, nil
}

func (d *exabgp) peerOf(pfx netip.Prefix) netip.Addr {
	return d.l.ourAddr[topo.FamilyOf(pfx.Addr())]
}

func (d *exabgp) withdraw(_ context.Context, pfx netip.Prefix) error {
	return d.command(fmt.Sprintf("neighbor %v withdraw %s", d.peerOf(pfx), exaRoute(d.l, pfx, false)))
}

// shutdown tears the session down with Cease/Administrative Shutdown
// (subcode 2). ExaBGP has no administrative down state: it connects
// again by itself, so enable has nothing to do.
func (d *exabgp) shutdown(_ context.Context, a netip.Addr, _ string) error {
	return d.command(fmt.Sprintf("neighbor %v teardown 2", a))
}

func (d *exabgp) enable(context.Context, netip.Addr) error { return nil }

func (d *exabgp) refreshIn(_ context.Context, a netip.Addr) (bool, error) {
	return true, d.command(fmt.Sprintf("neighbor %v announce route-refresh %s unicast", a, strings.ToLower(topo.FamilyOf(a).String())))
}

// TestExaBGPTwoOctetAS: a peer without 4-octet AS numbers (RFC 6793), as
// old routers are. Our AS is a 4-octet one: the peer knows it as AS_TRANS,
// our routes reach it with AS_TRANS in AS_PATH and the real path in
// AS4_PATH (checked on the wire), and its 2-octet paths reach us whole.
func TestExaBGPTwoOctetAS(t *testing.T) {
	needBinary(t, "exabgp")
	l := buildLab(t, labSpec{peer: "exabgp", ourAS: 4200000001, peerAS: 65002})
	d := startExaBGP(t, l, true)
	l.startSpeaker()
	ctx := context.Background()
	// In the UPDATE's path attributes, hex: AS_PATH (well-known, type 2,
	// 4 bytes) holding one AS_SEQUENCE of AS_TRANS in 2 octets, and
	// AS4_PATH (optional transitive, type 17, 6 bytes) holding our AS.
	const (
		wireASPath  = "40020402015BA0"
		wireAS4Path = "C011060201FA56EA01"
	)
	for _, f := range families {
		ours, theirs := l.ourAddr[f], l.peerAddr[f]
		l.waitSpeaker(t, upTimeout, fmt.Sprintf("our %v session Established", f), func(s *speaker.Snapshot) bool {
			return s.Neighbor(theirs).State == speaker.Established
		})
		n, err := l.sp.Neighbor(ctx, theirs)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Capabilities {
			if c.Name == "4 Byte AS" && (!c.Advertised || c.Received) {
				t.Errorf("%v: 4-octet AS capability advertised %v, received %v; want advertised only", f, c.Advertised, c.Received)
			}
		}
		// ExaBGP shows the path merged from AS_PATH and AS4_PATH (RFC
		// 6793 section 4.2.3): our real AS.
		want := &peerRoute{ASPath: fmt.Sprint(l.us.AS.Number), Origin: "i", MED: ourMED, HasMED: true,
			Communities: ourCommunities, LargeCommunities: []string{ourLarge(l.us.AS.Number)}, NextHop: ours}
		if f == topo.IPv6 {
			want.LinkLocal = l.mustLinkLocal(t, l.us.Name, l.ourIface)
		}
		pfx := attrPrefix(true, f)
		poll(t, routeTimeout, fmt.Sprintf("ExaBGP's route to %v", pfx), func() (bool, string) {
			got, err := d.route(ctx, pfx)
			if err != nil {
				return false, err.Error()
			}
			diff := cmp.Diff(want, got, cmpAddr)
			return diff == "", "(-want +got)\n" + diff
		})
		all, err := d.replay()
		if err != nil {
			t.Fatal(err)
		}
		raw := strings.ToUpper(all[ours].raw[pfx])
		if !strings.Contains(raw, wireASPath) || !strings.Contains(raw, wireAS4Path) {
			t.Errorf("%v: the UPDATE ExaBGP received has no AS_PATH %s and AS4_PATH %s: %s", pfx, wireASPath, wireAS4Path, raw)
		}
		wantTheirs := &peerRoute{ASPath: fmt.Sprintf("%d %d", l.peer.AS.Number, peerPrepend), Origin: "i", MED: peerMED, HasMED: true,
			Communities: peerCommunities, LargeCommunities: []string{peerLarge(l.peer.AS.Number)}, NextHop: theirs}
		var diff string
		ctx, cancel := context.WithTimeout(ctx, routeTimeout)
		err = l.sp.WaitFor(ctx, func(*speaker.Snapshot) bool {
			diff = cmp.Diff(wantTheirs, l.ourRoute(t, attrPrefix(false, f)), cmpAddr)
			return diff == ""
		})
		cancel()
		if err != nil {
			t.Fatalf("our route to %v: %v (-want +got)\n%s", attrPrefix(false, f), err, diff)
		}
	}
}
