package speakerconf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"lab/speaker"
	"lab/topo"
)

// pipeLab runs every router of a topology as a speaker in the test's
// process, without a kernel: sessions over net.Pipe, every next hop
// reachable, nothing installed. It is for properties of the routing that
// the lab computes (what every Loc-RIB holds), on labs of hundreds of
// routers, in a second.
type pipeLab struct {
	t        testing.TB
	model    *topo.Lab
	speakers map[string]*speaker.Speaker
	byAddr   map[netip.Addr]*speaker.Speaker // a session end's address → its speaker
}

// pipeDialer connects a session to the speaker that owns its peer's
// address, as that speaker's listener would.
type pipeDialer struct{ l *pipeLab }

func (d pipeDialer) Dial(ctx context.Context, p *speaker.PeerConfig) (net.Conn, error) {
	target := d.l.byAddr[p.PeerAddr]
	if target == nil {
		return nil, fmt.Errorf("no speaker at %v", p.PeerAddr)
	}
	a, b := net.Pipe()
	go target.HandleConn(b, p.LocalAddr)
	return a, nil
}

func newPipeLab(t testing.TB, model *topo.Lab) *pipeLab {
	t.Helper()
	l := &pipeLab{t: t, model: model, speakers: map[string]*speaker.Speaker{}, byAddr: map[netip.Addr]*speaker.Speaker{}}
	for _, r := range model.Routers {
		cfg, err := Config(model, r, "")
		if err != nil {
			t.Fatal(err)
		}
		cfg.NoKernel = true
		cfg.Dialer = pipeDialer{l}
		cfg.IdleHold = 10 * time.Millisecond
		for i := range cfg.Peers {
			// One side lets the other dial first, as in a lab, but pipes
			// connect at once.
			if cfg.Peers[i].DialDelay > 0 {
				cfg.Peers[i].DialDelay = 50 * time.Millisecond
			}
		}
		sp, err := speaker.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l.speakers[r.Name] = sp
		for _, s := range model.Sessions {
			if local, _, ok := s.End(r); ok {
				l.byAddr[local.Addr] = sp
			}
		}
	}
	for _, sp := range l.speakers {
		if err := sp.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range l.speakers {
		if err := sp.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(l.close)
	return l
}

// close closes every speaker, in parallel.
func (l *pipeLab) close() {
	var wg sync.WaitGroup
	for _, sp := range l.speakers {
		wg.Add(1)
		go func() { defer wg.Done(); sp.Close() }()
	}
	wg.Wait()
}

// converge waits until every session is Established with its End-of-RIB
// in, and nothing is in flight: no session has queued input or output,
// every UPDATE one end sent the other received, and the counters stay
// the same across two looks.
func (l *pipeLab) converge(timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	var last []uint64
	for {
		status := map[string]map[netip.Addr]speaker.PeerStatus{}
		for name, sp := range l.speakers {
			m := map[netip.Addr]speaker.PeerStatus{}
			for _, p := range sp.Peers() {
				m[p.Addr] = p
			}
			status[name] = m
		}
		var now []uint64
		var pending []string
		for _, s := range l.model.Sessions {
			a, b := status[s.A.Router.Name][s.B.Addr], status[s.B.Router.Name][s.A.Addr]
			if a.State != speaker.Established || b.State != speaker.Established || a.EndOfRIBReceived == 0 || b.EndOfRIBReceived == 0 ||
				a.InQ+a.OutQ+b.InQ+b.OutQ > 0 || a.UpdatesSent != b.UpdatesRcvd || b.UpdatesSent != a.UpdatesRcvd {
				pending = append(pending, fmt.Sprintf("%s-%s: %+v / %+v", s.A.Router.Name, s.B.Router.Name, a, b))
			}
			now = append(now, a.UpdatesSent, b.UpdatesSent)
		}
		ready := len(pending) == 0
		if ready && fmt.Sprint(now) == fmt.Sprint(last) {
			return
		}
		last = now
		if time.Now().After(deadline) {
			if len(pending) > 5 {
				pending = pending[:5]
			}
			l.t.Fatalf("the lab did not converge in %v: %s", timeout, strings.Join(pending, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
