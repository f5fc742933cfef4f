package commands

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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
}

// cmdWait blocks until the lab's BGP has converged, or TIMEOUT.
func cmdWait(ctx context.Context, e *Env, args grammar.Args, o *output) error {
	timeout := 60 * time.Second
	if s, ok := args.Float("timeout"); ok {
		timeout = time.Duration(s * float64(time.Second))
	}
	start := time.Now()
	rep, err := e.WaitConverged(ctx, timeout)
	rep.Seconds = time.Since(start).Seconds()
	o.result(rep)
	if err != nil {
		for _, p := range rep.Pending {
			o.printf("*** not yet: %s\n", p)
		}
		return err
	}
	o.printf("*** converged: %d BGP sessions established, every table exchanged (%.2fs)\n", rep.Sessions, rep.Seconds)
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
		counters, pending, n, err := e.collect(ctx)
		if ctx.Err() != nil {
			// Keep what the last full collection found: it says why.
			return rep, errors.New("BGP did not converge in time")
		}
		rep.Sessions, rep.Pending = n, pending
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

// collect reads every speaker's neighbours once and checks the sessions
// between two speakers of the lab.
func (e *Env) collect(ctx context.Context) (counters []uint64, pending []string, sessions int, err error) {
	snaps := map[string]*speaker.Snapshot{}
	for name, sp := range e.Routers {
		s, err := sp.Snapshot(ctx)
		if err != nil {
			return nil, nil, 0, err
		}
		snaps[name] = s
	}
	daemonStates, err := e.daemonSessions(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	for _, s := range e.Lab.Sessions {
		sa, sb := snaps[s.A.Router.Name], snaps[s.B.Router.Name]
		if sa == nil || sb == nil {
			// A session of an FRR or BIRD router of the lab's is waited
			// for; a user's external router's is not ours to.
			if p, c, ok := daemonSession(s, snaps, daemonStates); ok {
				sessions++
				pending = append(pending, p...)
				counters = append(counters, c...)
			}
			continue
		}
		sessions++
		na, nb := sa.Neighbor(s.B.Addr), sb.Neighbor(s.A.Addr)
		if na == nil || nb == nil {
			return nil, nil, 0, fmt.Errorf("session %s-%s missing from a speaker", s.A.Router.Name, s.B.Router.Name)
		}
		name := fmt.Sprintf("%s-%s %s", s.A.Router.Name, s.B.Router.Name, s.Family)
		switch {
		case na.State != speaker.Established || nb.State != speaker.Established:
			pending = append(pending, fmt.Sprintf("%s session is %s/%s", name, na.State, nb.State))
		case len(na.EndOfRIBReceived) == 0 || len(nb.EndOfRIBReceived) == 0:
			pending = append(pending, name+" End-of-RIB not received")
		case na.InQ+na.OutQ+nb.InQ+nb.OutQ > 0:
			pending = append(pending, name+" messages queued")
		case na.Sent.Updates != nb.Rcvd.Updates || nb.Sent.Updates != na.Rcvd.Updates:
			pending = append(pending, name+" UPDATEs in flight")
		}
		counters = append(counters, na.Sent.Updates, na.Rcvd.Updates, nb.Sent.Updates, nb.Rcvd.Updates)
	}
	return counters, pending, sessions, nil
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
func daemonSession(s *topo.Session, snaps map[string]*speaker.Snapshot, daemons map[string]map[netip.Addr]string) (pending []string, counters []uint64, ok bool) {
	name := fmt.Sprintf("%s-%s %s", s.A.Router.Name, s.B.Router.Name, s.Family)
	for _, ends := range [2][2]topo.SessionEnd{{s.A, s.B}, {s.B, s.A}} {
		local, peer := ends[0], ends[1]
		if snap := snaps[local.Router.Name]; snap != nil {
			n := snap.Neighbor(peer.Addr)
			switch {
			case n == nil:
				pending = append(pending, name+" missing from "+local.Router.Name)
			case n.State != speaker.Established:
				pending = append(pending, fmt.Sprintf("%s session is %s at %s", name, n.State, local.Router.Name))
			case len(n.EndOfRIBReceived) == 0:
				pending = append(pending, name+" End-of-RIB not received by "+local.Router.Name)
			default:
				counters = append(counters, n.Sent.Updates, n.Rcvd.Updates)
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
