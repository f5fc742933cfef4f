package exabgp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"lab/speaker"
	"lab/speaker/wire"
	"lab/topo"
)

// pipeDialer hands the speaker one end of a net.Pipe per dial and the
// test the other.
type pipeDialer struct{ remote chan net.Conn }

func (d *pipeDialer) Dial(ctx context.Context, _ *speaker.PeerConfig) (net.Conn, error) {
	a, b := net.Pipe()
	select {
	case d.remote <- b:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// peer is the test's side of a session: a scripted BGP speaker.
type peer struct {
	t    *testing.T
	c    net.Conn
	opts wire.Options
}

func (p *peer) send(m wire.Message) {
	p.t.Helper()
	b, err := m.AppendTo(nil, &p.opts)
	if err != nil {
		p.t.Fatal(err)
	}
	p.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *peer) recv() wire.Message {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := wire.ReadMessage(p.c, nil, p.opts.MaxLen())
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	m, err := wire.Parse(b, &p.opts)
	if err != nil {
		p.t.Fatalf("parse: %v", err)
	}
	return m
}

// nextUpdate returns the next UPDATE that is not an End-of-RIB, skipping
// KEEPALIVEs.
func (p *peer) nextUpdate() *wire.Update {
	p.t.Helper()
	for {
		if u, ok := p.recv().(*wire.Update); ok {
			if _, _, eor := u.IsEndOfRIB(); !eor {
				return u
			}
		}
	}
}

var (
	ourAddr  = netip.MustParseAddr("10.0.0.1")
	peerAddr = netip.MustParseAddr("10.0.0.2")
)

// apiLab is a speaker with one IPv4 neighbour played by the test, and a
// runner; start establishes the session.
type apiLab struct {
	t    *testing.T
	sp   *speaker.Speaker
	r    *Runner
	dial *pipeDialer
	p    *peer
	// startErr is the runner's Start's.
	startErr error
}

func newAPILab(t *testing.T, procs []Process, mod func(*Config)) *apiLab {
	t.Helper()
	l := &apiLab{t: t, dial: &pipeDialer{remote: make(chan net.Conn, 4)}}
	sp, err := speaker.New(speaker.Config{
		Name: "r1", AS: 65001, RouterID: netip.MustParseAddr("10.255.0.1"), NoKernel: true, Dialer: l.dial,
		Peers: []speaker.PeerConfig{{LocalAddr: ourAddr, PeerAddr: peerAddr, PeerAS: 65002, NextHop4: ourAddr}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Speaker: sp, Processes: procs, Host: "r1", Dir: t.TempDir(), Grace: 500 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.sp, l.r = sp, r
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("r1's log:\n%s", strings.Join(sp.LogLines(), "\n"))
		}
		r.Close()
		// The test's ends of the connections, closed first: the speaker
		// does not wait for a peer that does not read its NOTIFICATION.
		if l.p != nil {
			l.p.c.Close()
		}
		for len(l.dial.remote) > 0 {
			(<-l.dial.remote).Close()
		}
		sp.Close()
	})
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.startErr = r.Start()
	return l
}

// establish plays the neighbour up to Established.
func (l *apiLab) establish() {
	l.t.Helper()
	var c net.Conn
	select {
	case c = <-l.dial.remote:
	case <-time.After(5 * time.Second):
		l.t.Fatal("the speaker did not dial")
	}
	p := &peer{t: l.t, c: c}
	ours, ok := p.recv().(*wire.Open)
	if !ok {
		l.t.Fatal("no OPEN")
	}
	o := wire.NewOpen(65002, 90, netip.MustParseAddr("10.255.0.2"), wire.CapMultiprotocol(wire.IPv4Unicast),
		wire.CapRouteRefresh{CapCode: wire.CapCodeRouteRefresh}, wire.CapAS4{AS: 65002})
	p.send(o)
	p.opts = wire.Negotiate(o, ours)
	if _, ok := p.recv().(*wire.Keepalive); !ok {
		l.t.Fatal("no KEEPALIVE")
	}
	p.send(&wire.Keepalive{})
	l.p = p
}

// logHas waits until the speaker's log has a line containing want.
func (l *apiLab) logHas(want string) {
	l.t.Helper()
	poll(l.t, 10*time.Second, fmt.Sprintf("a log line with %q", want), func() (bool, string) {
		lines := l.sp.LogLines()
		for _, s := range lines {
			if strings.Contains(s, want) {
				return true, ""
			}
		}
		return false, strings.Join(lines, "\n")
	})
}

func poll(t *testing.T, timeout time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %s", timeout, what, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fifoProgram is a program that copies the FIFO the test writes commands
// to onto its output, and its input to a file: ExaBGP's interop API
// process, run by our runner.
func fifoProgram(t *testing.T) (run []string, fifo, input string) {
	dir := t.TempDir()
	fifo, input = filepath.Join(dir, "cmd.fifo"), filepath.Join(dir, "input")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The FIFO is opened read-write so that it never ends between two
	// commands.
	script := fmt.Sprintf("exec 3<>%q\ncat <&3 &\nexec cat > %q\n", fifo, input)
	return []string{"/bin/sh", "-c", script}, fifo, input
}

func command(t *testing.T, fifo, line string) {
	t.Helper()
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// inputLines returns what the program read so far.
func inputLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// waitInput waits until the program read a line containing every one of
// want, and returns the lines.
func waitInput(t *testing.T, path string, want ...string) []string {
	t.Helper()
	var lines []string
	poll(t, 10*time.Second, fmt.Sprintf("a line with %q in the program's input", want), func() (bool, string) {
		lines = inputLines(t, path)
	next:
		for _, l := range lines {
			for _, w := range want {
				if !strings.Contains(l, w) {
					continue next
				}
			}
			return true, ""
		}
		return false, strings.Join(lines, "\n")
	})
	return lines
}

// A program's life: it reads the session's state changes and messages in
// ExaBGP's JSON, its commands reach the neighbour and are answered done
// or error, what it prints on its standard error is in the log, and it
// reads a shutdown notice when it is stopped.
func TestProcess(t *testing.T) {
	run, fifo, input := fifoProgram(t)
	all := Receive{NeighborChanges: true, Update: true, Notification: true, Open: true, Keepalive: true, Refresh: true}
	l := newAPILab(t, []Process{{Name: "api", Run: run, Receive: all}}, nil)
	if l.startErr != nil {
		t.Fatal(l.startErr)
	}
	l.establish()
	waitInput(t, input, `"type": "state"`, `"state": "up"`)
	l.p.send(&wire.Update{NLRI: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Attrs: []wire.Attr{
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{65002}}}},
		wire.NextHop{Addr: peerAddr}, wire.MED{Value: 3}}})
	waitInput(t, input, `"announce": { "ipv4 unicast": { "10.0.0.2": [ { "nlri": "10.0.0.0/8" } ] } }`, `"med": 3`)
	l.p.send(&wire.Update{Withdrawn: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	waitInput(t, input, `"withdraw": { "ipv4 unicast": [ { "nlri": "10.0.0.0/8" } ] }`)

	// Every line is valid JSON but the answers, and the order is the
	// session's.
	var kinds []string
	for _, line := range inputLines(t, input) {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m struct {
			Type     string
			Neighbor struct{ State string }
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		k := m.Type
		if m.Neighbor.State != "" {
			k += " " + m.Neighbor.State
		}
		kinds = append(kinds, k)
	}
	want := "state connected, open, keepalive, state up, update, update"
	if got := strings.Join(kinds, ", "); got != want {
		t.Errorf("messages %s, want %s", got, want)
	}

	// Commands: announced to the neighbour, with their attributes.
	command(t, fifo, "announce route 10.1.0.0/16 next-hop self med 5 community [ 65001:7 ]")
	u := l.p.nextUpdate()
	if med, _ := u.MED(); len(u.NLRI) != 1 || u.NLRI[0] != netip.MustParsePrefix("10.1.0.0/16") || med.Value != 5 {
		t.Errorf("UPDATE %s, want 10.1.0.0/16 with MED 5", wire.Summary(u))
	}
	waitInput(t, input, "done")
	command(t, fifo, "neighbor 10.0.0.2 withdraw route 10.1.0.0/16")
	if u := l.p.nextUpdate(); len(u.Withdrawn) != 1 {
		t.Errorf("UPDATE %s, want the withdrawal", wire.Summary(u))
	}
	command(t, fifo, "announce route 10.0.0.0/8")
	waitInput(t, input, "error")
	l.logHas("process api: announce route 10.0.0.0/8: route 10.0.0.0/8: next-hop is missing")
	command(t, fifo, "neighbor 10.9.9.9 announce eor")
	l.logHas("no neighbor matching neighbor 10.9.9.9")
	command(t, fifo, "announce route-refresh ipv4 unicast")
	if rr, ok := l.p.recv().(*wire.RouteRefresh); !ok || rr.AFI != wire.AFIIPv4 {
		t.Errorf("no ROUTE-REFRESH")
	}
	command(t, fifo, "show neighbor summary")
	waitInput(t, input, "10.0.0.2        65002 ", "established")

	// Stopped with the router: a last notice, then gone.
	if err := l.r.Close(); err != nil {
		t.Fatal(err)
	}
	waitInput(t, input, `"type": "notification", "notification": "shutdown"`)
	if exited, _ := l.r.ExitErr("api"); !exited {
		t.Error("the program still runs")
	}
	l.logHas("process api: stopped")
}

// A program with the text encoder reads ExaBGP's text messages, an empty
// line after each, as from ExaBGP.
func TestProcessText(t *testing.T) {
	run, _, input := fifoProgram(t)
	l := newAPILab(t, []Process{{Name: "text", Run: run, Text: true, NoAck: true,
		Receive: Receive{NeighborChanges: true, Update: true}}}, nil)
	l.establish()
	l.p.send(&wire.Update{NLRI: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Attrs: []wire.Attr{
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{65002}}}},
		wire.NextHop{Addr: peerAddr}}})
	waitInput(t, input, "receive update end")
	want := "neighbor 10.0.0.2 connected\n\nneighbor 10.0.0.2 up\n\n" +
		"neighbor 10.0.0.2 receive update start\n" +
		"neighbor 10.0.0.2 receive update announced 10.0.0.0/8 next-hop 10.0.0.2 origin igp as-path [ 65002 ]\n" +
		"neighbor 10.0.0.2 receive update end\n"
	if got := strings.Join(inputLines(t, input), "\n") + "\n"; got != want {
		t.Errorf("the program read:\n%s\nwant:\n%s", got, want)
	}
}

// A program that fails is reported once, with what it said, and not
// started again; one that cannot be found either.
func TestProcessCrash(t *testing.T) {
	l := newAPILab(t, []Process{
		{Name: "crash", Run: []string{"/bin/sh", "-c", "echo 'something is wrong' >&2; exit 3"}},
		{Name: "missing", Run: []string{"/nonexistent/program"}},
	}, func(c *Config) {})
	l.logHas("process crash: something is wrong")
	l.logHas("process crash: exited (exit status 3) and is not restarted")
	l.logHas("process missing: cannot start /nonexistent/program")
	if l.startErr == nil || !strings.Contains(l.startErr.Error(), "process missing") {
		t.Errorf("Start: %v, want the missing program's error", l.startErr)
	}
	n := 0
	for _, s := range l.sp.LogLines() {
		if strings.Contains(s, "process crash: started") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the program started %d times", n)
	}
}

// A program that does not read its input loses what does not fit its
// queue, and the log says so; the speaker never waits for it.
func TestProcessSlowReader(t *testing.T) {
	l := newAPILab(t, []Process{{Name: "deaf", Run: []string{"/bin/sleep", "60"}, Receive: Receive{Keepalive: true, Update: true}}},
		func(c *Config) { c.QueueLen = 10 })
	l.establish()
	// Enough to fill the pipe (64 KB) and the queue many times over.
	for range 2000 {
		l.p.send(&wire.Keepalive{})
	}
	l.p.send(&wire.Update{NLRI: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Attrs: []wire.Attr{
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{65002}}}},
		wire.NextHop{Addr: peerAddr}}})
	// The route made it to the table: nothing waited for the program.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.sp.WaitFor(ctx, func(s *speaker.Snapshot) bool {
		return s.Table(wire.IPv4Unicast).Route(netip.MustParsePrefix("10.0.0.0/8")) != nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := l.r.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(start))
	l.logHas("process deaf: ")
	l.logHas("messages lost: the program did not read its input (10 were waiting)")
}

// ParseReceive takes ExaBGP's words and the seed's "updates".
func TestParseReceive(t *testing.T) {
	r, err := ParseReceive([]string{"parsed", "updates", "neighbor-changes", "notification", "open", "keepalive", "refresh"})
	if err != nil {
		t.Fatal(err)
	}
	if r != (Receive{NeighborChanges: true, Update: true, Notification: true, Open: true, Keepalive: true, Refresh: true}) {
		t.Errorf("%+v", r)
	}
	for _, w := range []string{"packets", "bogus"} {
		if _, err := ParseReceive([]string{w}); err == nil || !strings.Contains(err.Error(), "accepted: parsed, update") {
			t.Errorf("%s: %v", w, err)
		}
	}
}

// The topology's words for a process's receive are the ones ParseReceive
// takes.
func TestReceiveWordsInStep(t *testing.T) {
	if !slices.Equal(topo.ReceiveWords, ReceiveWords) {
		t.Errorf("topo.ReceiveWords %v, exabgp.ReceiveWords %v", topo.ReceiveWords, ReceiveWords)
	}
	if _, err := ParseReceive(topo.ReceiveWords); err != nil {
		t.Error(err)
	}
}
