package commands

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"lab/speaker"
)

type terminalKey struct{}

// WithTerminal marks ctx as a command's whose output a terminal shows: a
// long command (wait) then draws its progress on one line, in place.
func WithTerminal(ctx context.Context) context.Context {
	return context.WithValue(ctx, terminalKey{}, true)
}

func onTerminal(ctx context.Context) bool {
	on, _ := ctx.Value(terminalKey{}).(bool)
	return on
}

// waitProgressEvery is how often `wait` redraws its progress line.
const waitProgressEvery = 200 * time.Millisecond

// showWaitProgress draws `wait`'s progress on a terminal, until the
// returned function is called (which erases it): the sessions up, and the
// routers converged (each of its sessions Established at both ends, the
// peer's End-of-RIB received, nothing queued and every UPDATE sent
// received: what wait waits for, per router). It reads the speakers'
// session counters only, never a table. Elsewhere it does nothing.
func (e *Env) showWaitProgress(ctx context.Context, o *output) (stop func()) {
	if o.json || !onTerminal(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(waitProgressEvery)
		defer tick.Stop()
		for {
			up, total, conv, routers := e.convergence()
			fmt.Fprintf(o.w, "\r\x1b[K*** waiting: sessions up %d/%d, routers converged %d/%d", up, total, conv, routers)
			select {
			case <-done:
				fmt.Fprint(o.w, "\r\x1b[K")
				return
			case <-ctx.Done():
				fmt.Fprint(o.w, "\r\x1b[K")
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// convergence counts the sessions between two of the lab's speakers that
// are Established at both ends, and the routers whose every such session
// has exchanged its tables and is quiet.
func (e *Env) convergence() (up, total, converged, routers int) {
	peers := map[string]map[netip.Addr]speaker.PeerStatus{}
	for name, sp := range e.Routers {
		m := map[netip.Addr]speaker.PeerStatus{}
		for _, p := range sp.Peers() {
			m[p.Addr] = p
		}
		peers[name] = m
	}
	pending := map[string]bool{}
	for _, s := range e.Lab.Sessions {
		pa, pb := peers[s.A.Router.Name], peers[s.B.Router.Name]
		if pa == nil || pb == nil {
			continue // an external router's session: not waited for
		}
		total++
		a, b := pa[s.B.Addr], pb[s.A.Addr]
		est := a.State == speaker.Established && b.State == speaker.Established
		if est {
			up++
		}
		if !est || a.EndOfRIBReceived == 0 || b.EndOfRIBReceived == 0 || a.InQ+a.OutQ+b.InQ+b.OutQ > 0 ||
			a.UpdatesSent != b.UpdatesRcvd || b.UpdatesSent != a.UpdatesRcvd {
			pending[s.A.Router.Name], pending[s.B.Router.Name] = true, true
		}
	}
	for name := range e.Routers {
		routers++
		if !pending[name] {
			converged++
		}
	}
	return up, total, converged, routers
}
