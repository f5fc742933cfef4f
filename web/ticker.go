package web

import (
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"lab/cli/commands"
	"lab/speaker"
	"lab/speaker/wire"
)

// Msg is one BGP message of the ticker.
type Msg struct {
	// Time is the wall clock time, HH:MM:SS.mmm.
	Time string `json:"t"`
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
	// Text is the message on one line (wire.Summary).
	Text string `json:"text"`
}

// tickerClient is one page's share of the ticker: a bounded queue that
// drops what the page does not take in time (the ticker is lossy; states
// are not, they travel as State).
type tickerClient struct {
	ch      chan Msg
	dropped atomic.Int64
}

// ticker follows every speaker's message traces while at least one page
// watches, and fans the messages out. Each message is shown once: as its
// sender sent it, or as received when the sender is not ours (an
// external router). mu guards clients and stops.
type ticker struct {
	env  *commands.Env
	ends map[string]map[netip.Addr]sessEnd

	mu      sync.Mutex
	clients map[*tickerClient]struct{}
	stops   []func()
}

func newTicker(env *commands.Env, ends map[string]map[netip.Addr]sessEnd) *ticker {
	return &ticker{env: env, ends: ends, clients: map[*tickerClient]struct{}{}}
}

// tickerQueue is how many messages wait for a page at most.
const tickerQueue = 512

// add registers a page; the first one starts the trace followers.
func (t *ticker) add() *tickerClient {
	c := &tickerClient{ch: make(chan Msg, tickerQueue)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients[c] = struct{}{}
	if len(t.clients) == 1 {
		t.startLocked()
	}
	return c
}

// remove unregisters a page; the last one stops the followers.
func (t *ticker) remove(c *tickerClient) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.clients, c)
	if len(t.clients) == 0 {
		t.stopLocked()
	}
}

func (t *ticker) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopLocked()
}

func (t *ticker) stopLocked() {
	for _, stop := range t.stops {
		stop()
	}
	t.stops = nil
}

func (t *ticker) startLocked() {
	for name, sp := range t.env.Routers {
		for addr, e := range t.ends[name] {
			ch, stop, err := sp.FollowTrace(addr)
			if err != nil {
				continue
			}
			t.stops = append(t.stops, stop)
			go t.follow(name, e, ch)
		}
	}
}

// follow forwards one peer's messages until its trace channel closes.
func (t *ticker) follow(router string, e sessEnd, ch <-chan speaker.TraceEntry) {
	for m := range ch {
		if msg, ok := tickerMsg(router, e, m); ok {
			t.broadcast(msg)
		}
	}
}

// tickerMsg makes a trace entry of router's session end e a ticker
// message, unless the sender's own trace has it.
func tickerMsg(router string, e sessEnd, m speaker.TraceEntry) (Msg, bool) {
	var msg Msg
	switch {
	case m.Dir == speaker.Sent:
		msg = Msg{From: router, To: e.peer}
	case !e.peerSpeaker:
		msg = Msg{From: e.peer, To: router}
	default:
		return msg, false
	}
	msg.Time = m.Time.Format("15:04:05.000")
	msg.Type = m.Type
	if m.Msg != nil {
		msg.Text = wire.Summary(m.Msg)
	} else {
		msg.Text = m.Type
	}
	return msg, true
}

// recent returns the last n messages of every trace but KEEPALIVEs,
// oldest first: a page opened late starts with the story so far.
func (t *ticker) recent(n int) []Msg {
	type timed struct {
		at  time.Time
		msg Msg
	}
	var all []timed
	for name, sp := range t.env.Routers {
		for addr, e := range t.ends[name] {
			tr, err := sp.Trace(addr)
			if err != nil {
				continue
			}
			// Only the newest n of each trace can be among the newest n.
			kept := 0
			for i := len(tr) - 1; i >= 0 && kept < n; i-- {
				if tr[i].Type == "KEEPALIVE" {
					continue
				}
				if m, ok := tickerMsg(name, e, tr[i]); ok {
					all = append(all, timed{tr[i].Time, m})
					kept++
				}
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	if len(all) > n {
		all = all[len(all)-n:]
	}
	out := make([]Msg, len(all))
	for i, a := range all {
		out[i] = a.msg
	}
	return out
}

func (t *ticker) broadcast(m Msg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.clients {
		select {
		case c.ch <- m:
		default:
			c.dropped.Add(1)
		}
	}
}

// note is an event for every page: its name and JSON data.
type note struct {
	event string
	data  []byte
}

// fanout sends notes to every registered queue, dropping for queues that
// are full. mu guards subs.
type fanout struct {
	mu   sync.Mutex
	subs map[chan note]struct{}
}

func newFanout() *fanout { return &fanout{subs: map[chan note]struct{}{}} }

func (f *fanout) sub() chan note {
	c := make(chan note, 16)
	f.mu.Lock()
	f.subs[c] = struct{}{}
	f.mu.Unlock()
	return c
}

func (f *fanout) unsub(c chan note) {
	f.mu.Lock()
	delete(f.subs, c)
	f.mu.Unlock()
}

func (f *fanout) sendEvent(event string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.subs {
		select {
		case c <- note{event, data}:
		default:
		}
	}
}
