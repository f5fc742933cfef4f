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
	// Cut lists the sessions over a link that is down or blackholed:
	// not waited for either (they stay Established until their hold
	// timer expires, and what was sent into the link never arrives), and
	// said, as a check's settling ignores them.
	Cut []string `json:"cut,omitempty"`
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
	if len(rep.Cut) > 0 {
		o.printf("*** not waited for (link down or blackholed): %s\n", strings.Join(rep.Cut, ", "))
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
	w, err := e.takeWaiter()
	if err != nil {
		rep.Pending = []string{err.Error()}
		return rep, err
	}
	defer e.putWaiter(w)
	counters, last := w.counters[:0], w.last[:0]
	clear(w.cut) // links may have changed since the last wait
	defer func() { w.counters, w.last = counters, last }()
	start := time.Now()
	tick := time.NewTicker(pollInterval(0))
	defer tick.Stop()
	// report fills rep with what the last collection found.
	changing := false
	var daemonErr error // a daemon that could not say, at the last collection
	report := func() {
		rep.Sessions, rep.Pending, rep.Down, rep.Cut = w.sessions, w.pendingText(), w.downText(), w.cutText()
		switch {
		case daemonErr != nil:
			rep.Pending = []string{daemonErr.Error()}
		case len(rep.Pending) == 0 && changing:
			rep.Pending = []string{"UPDATE counters still changing"}
		}
	}
	for {
		counters, err = w.collect(ctx, counters[:0])
		if ctx.Err() != nil {
			report()
			return rep, errors.New("BGP did not converge in time")
		}
		daemonErr, changing = err, false
		if err == nil && len(w.pending) == 0 && len(w.dpending) == 0 {
			if equal(counters, last) {
				break
			}
			changing = true
		}
		if err == nil && len(w.pending) > 0 && equal(counters, last) {
			// Nothing moves but some sessions: are their links cut?
			w.checkLinks()
		}
		last, counters = counters, last
		select {
		case <-ctx.Done():
			report()
			return rep, errors.New("BGP did not converge in time")
		case <-tick.C:
			tick.Reset(pollInterval(time.Since(start)))
		}
	}
	report()
	for name, sp := range e.Routers {
		if err := sp.SyncFIB(ctx); err != nil {
			rep.Pending = []string{name + ": kernel routes not written"}
			return rep, fmt.Errorf("%s: %w", name, err)
		}
	}
	rep.Converged = true
	return rep, nil
}

// pollInterval is the sleep between two collections of a wait that has
// run for waited: 20 ms, then a hundredth of that time, up to 100 ms. A
// collection reads a few counters of every session, two of them under
// locks the session's goroutines take all the time: on BA1000, polling
// every 20 ms for 29 s took 3.5 s of the daemon's 54 s of CPU. A long
// wait loses at most 1% of its time to the longer sleeps.
func pollInterval(waited time.Duration) time.Duration {
	return min(max(20*time.Millisecond, waited/100), 100*time.Millisecond)
}

// waiter is what WaitConverged polls: the lab's speakers, and the
// sessions between two of them, each with its place in its ends'
// statuses. A collection reads the counters of every session (no table,
// no decision round) into slices kept from one collection to the next,
// and says what is pending in numbers, rendered only when shown: on a lab
// of a thousand routers it polls every 20 to 100 ms (pollInterval) for
// as long as the lab takes, and must cost it next to nothing.
type waiter struct {
	names    []string
	speakers []Router
	status   [][]speaker.PeerStatus // by speaker, the last collection's
	queued   []int                  // by speaker: events not decided yet
	ends     []waitEnds
	// What the last collection found: sessions counts those waited for;
	// pending and down are indexes in ends, with a reason for pending.
	sessions int
	pending  []waitPending
	down     []int
	// cutEnds are the sessions not waited for as their link is cut (an
	// index in ends), and cut what this wait found of the links of
	// sessions that were pending while nothing else moved (checkLinks).
	cutEnds []int
	cut     map[*topo.Link]linkCut
	// Sessions with an FRR or BIRD end (collectDaemons), and what the
	// last collection found pending on them.
	env      *Env
	dends    []daemonEnds
	dpending []string
	// counters and last are WaitConverged's, kept for the next wait.
	counters, last []uint64
}

// takeWaiter returns the waiter the last wait left (putWaiter), or a new
// one: the lab's sessions do not change while it runs, and a script that
// runs wait in a loop on a lab of a thousand routers would otherwise have
// the collector take back a megabyte of statuses and indexes a wait.
// Waits that run at the same time get waiters of their own.
func (e *Env) takeWaiter() (*waiter, error) {
	e.waitMu.Lock()
	w := e.idleWaiter
	e.idleWaiter = nil
	e.waitMu.Unlock()
	if w != nil {
		w.dpending = w.dpending[:0] // the last wait's
		return w, nil
	}
	return e.newWaiter()
}

// putWaiter keeps w for the next wait.
func (e *Env) putWaiter(w *waiter) {
	e.waitMu.Lock()
	e.idleWaiter = w
	e.waitMu.Unlock()
}

// waitEnds is a session between two of the lab's speakers: the indexes
// of its ends' speakers, and of each end's peer in its speaker's
// statuses.
type waitEnds struct {
	s      *topo.Session
	a, b   int
	pa, pb int
}

type waitPending struct {
	end    int
	reason uint8
}

// Reasons a session is pending.
const (
	waitDone uint8 = iota // not pending
	waitNotEstablished
	waitNoEndOfRIB
	waitQueued
	waitInFlight
)

func (e *Env) newWaiter() (*waiter, error) {
	w := &waiter{env: e}
	byName := make(map[string]int, len(e.Routers))
	for name, sp := range e.Routers {
		byName[name] = len(w.speakers)
		w.names = append(w.names, name)
		w.speakers = append(w.speakers, sp)
		w.status = append(w.status, sp.AppendPeers(nil))
	}
	w.queued = make([]int, len(w.speakers))
	index := func(sp int, addr netip.Addr) int {
		for i, p := range w.status[sp] {
			if p.Addr == addr {
				return i
			}
		}
		return -1
	}
	for _, s := range e.Lab.Sessions {
		a, oka := byName[s.A.Router.Name]
		b, okb := byName[s.B.Router.Name]
		if !oka || !okb {
			// A session of an FRR or BIRD router of the lab's is waited
			// for; a user's external router's is not ours to.
			if d, ok := w.daemonEnds(e, s, byName, index); ok {
				w.dends = append(w.dends, d)
			}
			continue
		}
		end := waitEnds{s: s, a: a, b: b, pa: index(a, s.B.Addr), pb: index(b, s.A.Addr)}
		if end.pa < 0 || end.pb < 0 {
			return nil, fmt.Errorf("session %s-%s missing from a speaker", s.A.Router.Name, s.B.Router.Name)
		}
		w.ends = append(w.ends, end)
	}
	return w, nil
}

// collect reads every speaker's sessions once and checks the sessions
// between two speakers of the lab, appending their counters to counters.
// A session either end keeps down on purpose is not waited for: it is
// listed in down.
func (w *waiter) collect(ctx context.Context, counters []uint64) ([]uint64, error) {
	for i, sp := range w.speakers {
		w.status[i] = sp.AppendPeers(w.status[i][:0])
		w.queued[i] = sp.Queued()
	}
	w.sessions, w.pending, w.down, w.cutEnds = 0, w.pending[:0], w.down[:0], w.cutEnds[:0]
	for i, end := range w.ends {
		na, nb := &w.status[end.a][end.pa], &w.status[end.b][end.pb]
		if na.Down || nb.Down {
			w.down = append(w.down, i)
			continue
		}
		reason := waitDone
		switch {
		case na.State != speaker.Established || nb.State != speaker.Established:
			reason = waitNotEstablished
		case na.EndOfRIBReceived == 0 || nb.EndOfRIBReceived == 0:
			reason = waitNoEndOfRIB
		case na.InQ+na.OutQ+nb.InQ+nb.OutQ > 0:
			reason = waitQueued
		case na.UpdatesSent != nb.UpdatesRcvd || nb.UpdatesSent != na.UpdatesRcvd:
			reason = waitInFlight
		}
		if reason != waitDone && end.s.Link != nil && w.cut[end.s.Link].cut {
			w.cutEnds = append(w.cutEnds, i)
			continue
		}
		w.sessions++
		if reason != waitDone {
			w.pending = append(w.pending, waitPending{i, reason})
		}
		counters = append(counters, na.UpdatesSent, na.UpdatesRcvd, nb.UpdatesSent, nb.UpdatesRcvd)
	}
	for i, n := range w.queued {
		if n > 0 {
			w.pending = append(w.pending, waitPending{-1 - i, 0})
		}
	}
	return w.collectDaemons(ctx, counters)
}

func (w *waiter) sessionName(i int) string {
	s := w.ends[i].s
	return fmt.Sprintf("%s-%s %s", s.A.Router.Name, s.B.Router.Name, s.Family)
}

// pendingText says what the last collection found pending.
func (w *waiter) pendingText() []string {
	out := append([]string(nil), w.dpending...)
	for _, p := range w.pending {
		if p.end < 0 {
			i := -1 - p.end
			out = append(out, fmt.Sprintf("%s: %d events to decide", w.names[i], w.queued[i]))
			continue
		}
		name := w.sessionName(p.end)
		switch p.reason {
		case waitNotEstablished:
			end := w.ends[p.end]
			out = append(out, fmt.Sprintf("%s session is %s/%s", name, w.status[end.a][end.pa].State, w.status[end.b][end.pb].State))
		case waitNoEndOfRIB:
			out = append(out, name+" End-of-RIB not received")
		case waitQueued:
			out = append(out, name+" messages queued")
		case waitInFlight:
			out = append(out, name+" UPDATEs in flight")
		}
	}
	return out
}

// linkCut is what a wait last found of a link: whether it is cut (down
// at either end, or blackholed), and when it looked.
type linkCut struct {
	cut bool
	at  time.Time
}

// linkRecheck is how long a wait trusts what it found of a link.
const linkRecheck = time.Second

// checkLinks finds out whether the links of the pending sessions are
// cut. It runs only while nothing but those sessions moves: a link's
// state is read from the kernel (netemu's LinkStatuses, sockets in
// each end's namespace), too dear for every session of every poll of a
// thousand-router lab, and a session over a link that works is pending
// only while the lab moves. A link found cut is looked at again after
// linkRecheck, as another client may bring it back meanwhile.
func (w *waiter) checkLinks() {
	if w.env.Net == nil {
		return
	}
	if w.cut == nil {
		w.cut = map[*topo.Link]linkCut{}
	}
	now := time.Now()
	var ks []*topo.Link
	look := func(k *topo.Link) {
		if c, ok := w.cut[k]; ok && now.Sub(c.at) < linkRecheck {
			return
		}
		w.cut[k] = linkCut{at: now} // once in ks
		ks = append(ks, k)
	}
	for _, p := range w.pending {
		if p.end >= 0 {
			if k := w.ends[p.end].s.Link; k != nil {
				look(k)
			}
		}
	}
	for _, i := range w.cutEnds {
		look(w.ends[i].s.Link)
	}
	for _, st := range w.env.Net.LinkStatuses(ks) {
		w.cut[st.Link] = linkCut{cut: !st.Up(), at: now}
	}
}

// cutText lists the sessions not waited for as their link is cut.
func (w *waiter) cutText() []string {
	var out []string
	for _, i := range w.cutEnds {
		out = append(out, w.sessionName(i))
	}
	return out
}

// downText lists the sessions kept down on purpose.
func (w *waiter) downText() []string {
	var out []string
	for _, i := range w.down {
		out = append(out, w.sessionName(i))
	}
	return out
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

// daemonEnds is a session one of whose ends (at least) is an FRR or
// BIRD router of the lab's. For each end (A, B): the index of its speaker
// and of its peer in that speaker's statuses, or -1 for a daemon's end
// (and for a peer missing from the speaker's statuses).
type daemonEnds struct {
	s     *topo.Session
	sp    [2]int
	peers [2]int
}

// daemonEnds places a session with a non-speaker end; ok is false when an
// end is a user's external router.
func (w *waiter) daemonEnds(e *Env, s *topo.Session, byName map[string]int, index func(int, netip.Addr) int) (daemonEnds, bool) {
	d := daemonEnds{s: s}
	for k, ends := range [2][2]topo.SessionEnd{{s.A, s.B}, {s.B, s.A}} {
		local, peer := ends[0], ends[1]
		if sp, ok := byName[local.Router.Name]; ok {
			d.sp[k], d.peers[k] = sp, index(sp, peer.Addr)
			continue
		}
		if _, ok := e.Daemons[local.Router.Name]; !ok {
			return d, false
		}
		d.sp[k], d.peers[k] = -1, -1
	}
	return d, true
}

// collectDaemons asks the lab's FRR and BIRD routers the state of their
// sessions and checks those of w.dends: both ends Established, and the
// speaker's end, if any, has received End-of-RIB. What is pending goes to
// w.dpending (kept as it was when a daemon cannot answer), the speaker's
// end's counters to counters. There are few
// such sessions, and asking a daemon costs a process or a socket round
// trip: this is the part of a collection that is not cheap.
func (w *waiter) collectDaemons(ctx context.Context, counters []uint64) ([]uint64, error) {
	if len(w.dends) == 0 {
		return counters, nil
	}
	w.sessions += len(w.dends)
	states, err := w.env.daemonSessions(ctx)
	if err != nil {
		return counters, err // w.dpending kept: what the last answers said
	}
	w.dpending = w.dpending[:0]
	for _, d := range w.dends {
		s := d.s
		name := fmt.Sprintf("%s-%s %s", s.A.Router.Name, s.B.Router.Name, s.Family)
		for k, ends := range [2][2]topo.SessionEnd{{s.A, s.B}, {s.B, s.A}} {
			local, peer := ends[0], ends[1]
			if sp := d.sp[k]; sp >= 0 {
				if d.peers[k] < 0 {
					w.dpending = append(w.dpending, name+" missing from "+local.Router.Name)
					continue
				}
				n := &w.status[sp][d.peers[k]]
				switch {
				case n.State != speaker.Established:
					w.dpending = append(w.dpending, fmt.Sprintf("%s session is %s at %s", name, n.State, local.Router.Name))
				case n.EndOfRIBReceived == 0:
					w.dpending = append(w.dpending, name+" End-of-RIB not received by "+local.Router.Name)
				default:
					counters = append(counters, n.UpdatesSent, n.UpdatesRcvd)
				}
				continue
			}
			if state := states[local.Router.Name][peer.Addr]; state != "Established" {
				w.dpending = append(w.dpending, fmt.Sprintf("%s session is %q at %s", name, state, local.Router.Name))
			}
		}
	}
	return counters, nil
}
