package speaker

import (
	"fmt"
	"io"
	"sync"
	"time"

	"lab/speaker/wire"
)

// logLines is the speaker's log: FRR-style lines written to Config.Log and
// kept in a bounded ring for `show log`. Safe for concurrent use.
type logLines struct {
	mu    sync.Mutex
	w     io.Writer
	ring  []string
	next  int
	full  bool
	clock Clock
}

const logRingLen = 1000

func (l *logLines) printf(format string, args ...any) {
	line := l.clock.Now().Format("2006/01/02 15:04:05") + " BGP: " + fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ring == nil {
		l.ring = make([]string, logRingLen)
	}
	l.ring[l.next] = line
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
	if l.w != nil {
		io.WriteString(l.w, line+"\n")
	}
}

func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]string(nil), l.ring[:l.next]...)
	}
	return append(append([]string(nil), l.ring[l.next:]...), l.ring[:l.next]...)
}

// Direction says whether a traced message was sent or received.
type Direction string

// Directions of traced messages.
const (
	Sent     Direction = "sent"
	Received Direction = "rcvd"
)

// TraceEntry is one message of a peer's message trace.
type TraceEntry struct {
	Time time.Time
	Peer string
	Dir  Direction
	Type string
	// Msg is the decoded message (wire.Format renders it as tcpdump does).
	Msg wire.Message
}

// trace is a peer's bounded message ring with live followers. Safe for
// concurrent use: the peer's reader, writer and session goroutines all
// record into it.
type trace struct {
	mu   sync.Mutex
	ring []TraceEntry
	next int
	full bool
	subs map[chan TraceEntry]struct{}
}

func newTrace(n int) *trace {
	return &trace{ring: make([]TraceEntry, n), subs: make(map[chan TraceEntry]struct{})}
}

func (t *trace) add(e TraceEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ring[t.next] = e
	t.next = (t.next + 1) % len(t.ring)
	if t.next == 0 {
		t.full = true
	}
	for c := range t.subs {
		// A follower that does not keep up loses messages rather than
		// slowing the session down.
		select {
		case c <- e:
		default:
		}
	}
}

func (t *trace) entries() []TraceEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return append([]TraceEntry(nil), t.ring[:t.next]...)
	}
	return append(append([]TraceEntry(nil), t.ring[t.next:]...), t.ring[:t.next]...)
}

func (t *trace) follow() (<-chan TraceEntry, func()) {
	c := make(chan TraceEntry, 256)
	t.mu.Lock()
	t.subs[c] = struct{}{}
	t.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			t.mu.Lock()
			delete(t.subs, c)
			t.mu.Unlock()
		})
	}
}
