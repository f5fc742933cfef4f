package web

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"lab/cli/commands"
	"lab/netemu"
	"lab/speaker"
)

// Link states, as the page's classes name them (diagram's svgStyle).
const (
	LinkUp        = "up"
	LinkDown      = "down"
	LinkHalf      = "half" // one side down
	LinkBlackhole = "blackhole"
	LinkUnknown   = "unknown"
)

// LinkState names a link's state: blackholed when either end drops what
// it receives; up when both ends are up with carrier; "half" when one end
// is administratively up and the other down (`link IFACE down`); down
// otherwise.
func LinkState(st netemu.LinkStatus) string {
	switch {
	case st.A.Err != nil || st.B.Err != nil:
		return LinkUnknown
	case st.Blackholed:
		return LinkBlackhole
	case st.Up():
		return LinkUp
	case st.A.AdminUp != st.B.AdminUp:
		return LinkHalf
	}
	return LinkDown
}

// SessionState is a session's state on the page.
type SessionState struct {
	// State is the class: the FSM state of the end that is behind, in
	// lower case ("established" only when both ends are), or "unknown".
	State string `json:"state"`
	// A and B are each end's FSM state ("" for an end that runs no
	// speaker of ours: an external router).
	A string `json:"a,omitempty"`
	B string `json:"b,omitempty"`
}

// progress orders FSM states by how far a session has come.
func progress(s string) int {
	switch s {
	case "idle":
		return 0
	case "connect", "active":
		return 1
	case "opensent":
		return 2
	case "openconfirm":
		return 3
	case "established":
		return 4
	}
	return -1
}

func combine(a, b string) string {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	switch {
	case a == "" && b == "":
		return "unknown"
	case a == "":
		return lb
	case b == "":
		return la
	case progress(lb) < progress(la):
		return lb
	}
	return la
}

// State is the lab's state as the page shows it. Keys are the diagram's
// ids: "link-I", "session-I"; Routers counts each router's changes (a new
// count tells an open panel to read the router again).
type State struct {
	Links    map[string]string       `json:"links"`
	Sessions map[string]SessionState `json:"sessions"`
	Routers  map[string]uint64       `json:"routers"`
}

// diff returns the entries of s that differ from old (all of s when old
// is nil), and whether there are any.
func (s *State) diff(old *State) (*State, bool) {
	if old == nil {
		return s, true
	}
	d := &State{Links: map[string]string{}, Sessions: map[string]SessionState{}, Routers: map[string]uint64{}}
	for k, v := range s.Links {
		if old.Links[k] != v {
			d.Links[k] = v
		}
	}
	for k, v := range s.Sessions {
		if old.Sessions[k] != v {
			d.Sessions[k] = v
		}
	}
	for k, v := range s.Routers {
		if old.Routers[k] != v {
			d.Routers[k] = v
		}
	}
	return d, len(d.Links)+len(d.Sessions)+len(d.Routers) > 0
}

// sessEnd is one end of a session: the session's index and which end.
type sessEnd struct {
	index int
	end   byte // 'a' or 'b'
	// peer is the router at the other end; peerSpeaker is set when it runs
	// our speaker (its trace has the other direction).
	peer        string
	peerSpeaker bool
}

// published is a State the watcher published, and a channel closed when
// the next one is.
type published struct {
	state *State
	next  chan struct{}
}

// watcher keeps the lab's State: it reads every link's state (after a
// poke, and every second while pages watch) and the sessions' states
// (after each speaker event, and every second while pages watch), and
// publishes a new State when something changed. Its run goroutine owns
// every field but pub and pokes, which others read.
type watcher struct {
	env *commands.Env
	// ends maps a router and a peer address to its session end; built
	// once, read-only after.
	ends map[string]map[netip.Addr]sessEnd

	pub   atomic.Pointer[published]
	pokes chan struct{} // cap 1: a pending poke
	// refresh asks for everything to be read again now (a new page).
	refresh chan struct{}

	links    map[string]string
	sessions map[string]SessionState
	routers  map[string]uint64
	// fsm is each router's view of its sessions: session index → state.
	fsm map[string]map[int]string
}

func newWatcher(env *commands.Env) *watcher {
	w := &watcher{env: env, ends: map[string]map[netip.Addr]sessEnd{},
		pokes: make(chan struct{}, 1), refresh: make(chan struct{}, 1),
		links: map[string]string{}, sessions: map[string]SessionState{}, routers: map[string]uint64{},
		fsm: map[string]map[int]string{}}
	for _, s := range env.Lab.Sessions {
		_, aSp := env.Routers[s.A.Router.Name]
		_, bSp := env.Routers[s.B.Router.Name]
		add := func(r string, peer netip.Addr, e sessEnd) {
			if w.ends[r] == nil {
				w.ends[r] = map[netip.Addr]sessEnd{}
			}
			w.ends[r][peer] = e
		}
		add(s.A.Router.Name, s.B.Addr, sessEnd{index: s.Index, end: 'a', peer: s.B.Router.Name, peerSpeaker: bSp})
		add(s.B.Router.Name, s.A.Addr, sessEnd{index: s.Index, end: 'b', peer: s.A.Router.Name, peerSpeaker: aSp})
	}
	for _, r := range env.Lab.Routers {
		w.routers[r.Name] = 0
	}
	w.readLinks()
	for name := range env.Routers {
		w.readPeers(name)
	}
	w.combineSessions()
	w.publish()
	return w
}

// poke asks for the links to be read again (never blocks).
func (w *watcher) poke() {
	select {
	case w.pokes <- struct{}{}:
	default:
	}
}

// current returns the state published last and its successor's channel.
func (w *watcher) current() *published { return w.pub.Load() }

// refreshNow asks for everything to be read again.
func (w *watcher) refreshNow() {
	select {
	case w.refresh <- struct{}{}:
	default:
	}
}

// routerEvent is a speaker's event, by router.
type routerEvent struct {
	router string
	kind   speaker.EventKind
}

// pollEvery is how often states are read again while pages watch: it
// catches what no event tells (a link taken down with `lab exec ... ip
// link`, an event a busy speaker dropped).
const pollEvery = time.Second

// coalesce is how long changes gather before a State is published: a
// burst of events makes one update.
const coalesce = 50 * time.Millisecond

func (w *watcher) run(ctx context.Context, clients *atomic.Int32) {
	events := make(chan routerEvent, 1024)
	for name, sp := range w.env.Routers {
		ch, stop := sp.Subscribe()
		defer stop()
		go func() {
			for e := range ch {
				select {
				case events <- routerEvent{name, e.Kind}:
				default: // the poll catches up
				}
			}
		}()
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	var flush <-chan time.Time
	peersDirty := map[string]bool{}
	linksDirty, dirty := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			if e.kind == speaker.EventPeerState {
				peersDirty[e.router] = true
			}
			w.routers[e.router]++
			dirty = true
		case <-w.pokes:
			linksDirty, dirty = true, true
		case <-w.refresh:
			linksDirty, dirty = true, true
			for name := range w.env.Routers {
				peersDirty[name] = true
			}
		case <-poll.C:
			if clients.Load() == 0 {
				continue
			}
			linksDirty, dirty = true, true
			for name := range w.env.Routers {
				peersDirty[name] = true
			}
		case <-flush:
			flush = nil
			if linksDirty {
				w.readLinks()
			}
			for name := range peersDirty {
				w.readPeers(name)
			}
			w.combineSessions()
			w.publish()
			clear(peersDirty)
			linksDirty, dirty = false, false
			continue
		}
		if dirty && flush == nil {
			flush = time.After(coalesce)
		}
	}
}

// readLinks reads every link's state from the kernel.
func (w *watcher) readLinks() {
	if w.env.Net == nil {
		for _, k := range w.env.Lab.Links {
			w.links[fmt.Sprintf("link-%d", k.Index)] = LinkUnknown
		}
		return
	}
	for _, st := range w.env.Net.LinkStatuses(w.env.Lab.Links) {
		w.links[fmt.Sprintf("link-%d", st.Link.Index)] = LinkState(st)
	}
}

// readPeers reads a speaker's session states (cheap: no table is read).
func (w *watcher) readPeers(name string) {
	sp := w.env.Routers[name]
	if sp == nil {
		return
	}
	m := map[int]string{}
	for _, p := range sp.Peers() {
		if e, ok := w.ends[name][p.Addr]; ok {
			m[e.index] = p.State.String()
		}
	}
	w.fsm[name] = m
}

func (w *watcher) combineSessions() {
	for _, s := range w.env.Lab.Sessions {
		a := w.fsm[s.A.Router.Name][s.Index]
		b := w.fsm[s.B.Router.Name][s.Index]
		w.sessions[fmt.Sprintf("session-%d", s.Index)] = SessionState{State: combine(a, b), A: a, B: b}
	}
}

// publish makes the current state the published one if it changed.
func (w *watcher) publish() {
	st := &State{Links: maps.Clone(w.links), Sessions: maps.Clone(w.sessions), Routers: maps.Clone(w.routers)}
	old := w.pub.Load()
	if old != nil {
		if _, changed := st.diff(old.state); !changed {
			return
		}
	}
	w.pub.Store(&published{state: st, next: make(chan struct{})})
	if old != nil {
		close(old.next)
	}
}
