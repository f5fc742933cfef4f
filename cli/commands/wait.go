package commands

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"lab/cli/grammar"
	"lab/netemu"
	"lab/speaker"
	"lab/topo"
)

func endState(e netemu.EndStatus) string {
	if e.Working() {
		return "OK"
	}
	return e.String()
}

// ConvergeReport is `wait`'s JSON result.
type ConvergeReport struct {
	Converged bool    `json:"converged"`
	Seconds   float64 `json:"seconds"`
	Sessions  int     `json:"sessions"`
	// Pending lists what was not done yet when the wait timed out.
	Pending []string `json:"pending,omitempty"`
	// Down lists the sessions kept down on purpose (a neighbor shutdown,
	// a maximum-prefix teardown): not waited for, and said.
	Down []string `json:"down,omitempty"`
}

// cmdWait blocks until the lab's BGP has converged, or TIMEOUT.
func cmdWait(ctx context.Context, e *Env, args grammar.Args, o *output) error {
	timeout := 60 * time.Second
	if s, ok := args.Float("timeout"); ok {
		timeout = time.Duration(s * float64(time.Second))
	}
	start := time.Now()
	stop := e.showWaitProgress(ctx, o) // on a terminal only (progress.go)
	rep, err := e.WaitConverged(ctx, timeout)
	stop()
	rep.Seconds = time.Since(start).Seconds()
	o.result(rep)
	if err != nil {
		for _, p := range rep.Pending {
			o.printf("*** not yet: %s\n", p)
		}
		return err
	}
	o.printf("*** converged: %d BGP sessions established, every table exchanged (%.2fs)\n", rep.Sessions, rep.Seconds)
	if len(rep.Down) > 0 {
		o.printf("*** kept down (neighbor shutdown or maximum prefixes): %s\n", strings.Join(rep.Down, ", "))
	}
	return nil
}

// WaitConverged waits until every session between two of the lab's
// speakers is Established and has exchanged End-of-RIB, and the lab is
// quiet: every UPDATE sent has been received, no session has queued input
// or output, and two collections in a row saw the same counters. Counting
// messages on both ends of every session is what tells "nothing in flight"
// apart from "nothing happened for a while". A session of an FRR or BIRD
// router the lab runs is waited for until both ends say Established, and
// the lab's speaker's end, if any, has received End-of-RIB; sessions to
// the user's external routers are not waited for. It then waits for
// every speaker's FIB writes.
func (e *Env) WaitConverged(ctx context.Context, timeout time.Duration) (*ConvergeReport, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := &ConvergeReport{}
	var last []uint64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		counters, pending, down, n, err := e.collect(ctx)
		if ctx.Err() != nil {
			// Keep what the last full collection found: it says why.
			return rep, errors.New("BGP did not converge in time")
		}
		rep.Sessions, rep.Pending, rep.Down = n, pending, down
		if err != nil {
			rep.Pending = []string{err.Error()}
		} else if len(pending) == 0 {
			if equal(counters, last) {
				break
			}
			rep.Pending = []string{"UPDATE counters still changing"}
		}
		last = counters
		select {
		case <-ctx.Done():
			return rep, errors.New("BGP did not converge in time")
		case <-tick.C:
		}
	}
	for name, sp := range e.Routers {
		if err := sp.SyncFIB(ctx); err != nil {
			rep.Pending = []string{name + ": kernel routes not written"}
			return rep, fmt.Errorf("%s: %w", name, err)
		}
	}
	rep.Converged = true
	return rep, nil
}

// collect reads every speaker's sessions once (their counters only: no
// table, no decision round, so that waiting costs the lab next to
// nothing however large it is) and checks the sessions between two
// speakers of the lab. A session either end keeps down on purpose is
// not waited for: it is listed in down.
func (e *Env) collect(ctx context.Context) (counters []uint64, pending, down []string, sessions int, err error) {
	status := make(map[string]map[netip.Addr]speaker.PeerStatus, len(e.Routers))
	for name, sp := range e.Routers {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, 0, err
		}
		m := make(map[netip.Addr]speaker.PeerStatus)
		for _, p := range sp.Peers() {
			m[p.Addr] = p
		}
		status[name] = m
		if n := sp.Queued(); n > 0 {
			pending = append(pending, fmt.Sprintf("%s: %d events to decide", name, n))
		}
	}
	daemonStates, err := e.daemonSessions(ctx)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	for _, s := range e.Lab.Sessions {
		sa, sb := status[s.A.Router.Name], status[s.B.Router.Name]
		if sa == nil || sb == nil {
			// A session of an FRR or BIRD router of the lab's is waited
			// for; a user's external router's is not ours to.
			if p, c, ok := daemonSession(s, status, daemonStates); ok {
				sessions++
				pending = append(pending, p...)
				counters = append(counters, c...)
			}
			continue
		}
		na, oka := sa[s.B.Addr]
		nb, okb := sb[s.A.Addr]
		if !oka || !okb {
			return nil, nil, nil, 0, fmt.Errorf("session %s-%s missing from a speaker", s.A.Router.Name, s.B.Router.Name)
		}
		name := fmt.Sprintf("%s-%s %s", s.A.Router.Name, s.B.Router.Name, s.Family)
		if na.Down || nb.Down {
			down = append(down, name)
			continue
		}
		sessions++
		switch {
		case na.State != speaker.Established || nb.State != speaker.Established:
			pending = append(pending, fmt.Sprintf("%s session is %s/%s", name, na.State, nb.State))
		case na.EndOfRIBReceived == 0 || nb.EndOfRIBReceived == 0:
			pending = append(pending, name+" End-of-RIB not received")
		case na.InQ+na.OutQ+nb.InQ+nb.OutQ > 0:
			pending = append(pending, name+" messages queued")
		case na.UpdatesSent != nb.UpdatesRcvd || nb.UpdatesSent != na.UpdatesRcvd:
			pending = append(pending, name+" UPDATEs in flight")
		}
		counters = append(counters, na.UpdatesSent, na.UpdatesRcvd, nb.UpdatesSent, nb.UpdatesRcvd)
	}
	return counters, pending, down, sessions, nil
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// daemonSessions asks every FRR and BIRD router of the lab the state of
// its sessions, by router and neighbour address.
func (e *Env) daemonSessions(ctx context.Context) (map[string]map[netip.Addr]string, error) {
	out := map[string]map[netip.Addr]string{}
	for name, d := range e.Daemons {
		if err := d.Exited(); err != nil {
			return nil, err // waiting would not help
		}
		st, err := d.Sessions(ctx)
		if err != nil {
			return nil, err
		}
		out[name] = st
	}
	return out, nil
}

// daemonSession checks a session one of whose ends (at least) is an FRR
// or BIRD router of the lab's: what is pending, and the counters of the
// lab's speaker's end; ok is false when an end is a user's router.
func daemonSession(s *topo.Session, status map[string]map[netip.Addr]speaker.PeerStatus, daemons map[string]map[netip.Addr]string) (pending []string, counters []uint64, ok bool) {
	name := fmt.Sprintf("%s-%s %s", s.A.Router.Name, s.B.Router.Name, s.Family)
	for _, ends := range [2][2]topo.SessionEnd{{s.A, s.B}, {s.B, s.A}} {
		local, peer := ends[0], ends[1]
		if st := status[local.Router.Name]; st != nil {
			n, found := st[peer.Addr]
			switch {
			case !found:
				pending = append(pending, name+" missing from "+local.Router.Name)
			case n.State != speaker.Established:
				pending = append(pending, fmt.Sprintf("%s session is %s at %s", name, n.State, local.Router.Name))
			case n.EndOfRIBReceived == 0:
				pending = append(pending, name+" End-of-RIB not received by "+local.Router.Name)
			default:
				counters = append(counters, n.UpdatesSent, n.UpdatesRcvd)
			}
			continue
		}
		st, isDaemon := daemons[local.Router.Name]
		if !isDaemon {
			return nil, nil, false
		}
		if state := st[peer.Addr]; state != "Established" {
			pending = append(pending, fmt.Sprintf("%s session is %q at %s", name, state, local.Router.Name))
		}
	}
	return pending, counters, true
}
