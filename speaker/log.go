package speaker

import (
	"fmt"
	"io"
	"slices"
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
	// The ring grows as lines come: most speakers of a large lab log a
	// few lines, and 200 of them would hold 3 MB of empty rings.
	if !l.full && len(l.ring) < logRingLen {
		l.ring = append(l.ring, line)
		if len(l.ring) == logRingLen {
			l.full, l.next = true, 0
		}
	} else {
		l.ring[l.next] = line
		l.next = (l.next + 1) % len(l.ring)
	}
	if l.w != nil {
		io.WriteString(l.w, line+"\n")
	}
}

func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]string(nil), l.ring...)
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
//
// Messages are kept as they were on the wire, with the options they were
// encoded with, and decoded again when the trace is read: a lab of a few
// hundred routers keeps the last messages of thousands of sessions, and
// an UPDATE is several times larger decoded than encoded. The ring grows
// as messages come, up to its length.
type trace struct {
	mu   sync.Mutex
	peer string
	max  int
	ring []traceRec
	next int // the oldest record once the ring is full
	subs map[chan TraceEntry]struct{}
}

// traceRec is one traced message, encoded.
type traceRec struct {
	time time.Time
	raw  []byte // the whole message, header included; not modified
	opts wire.Options
	dir  Direction
}

func newTrace(n int, peer string) *trace {
	return &trace{peer: peer, max: n, subs: make(map[chan TraceEntry]struct{})}
}

// add records a message sent or received at now, encoded as raw with
// opts; m is its decoded form when the caller has it (nil: decoded here
// if a follower needs it). raw must not change afterwards.
func (t *trace) add(dir Direction, now time.Time, raw []byte, opts wire.Options, m wire.Message) {
	rec := traceRec{time: now, raw: raw, opts: opts, dir: dir}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.max <= 0:
	case len(t.ring) < t.max:
		if len(t.ring) == cap(t.ring) {
			t.ring = slices.Grow(t.ring, min(max(2*cap(t.ring), 16), t.max)-len(t.ring))
		}
		t.ring = append(t.ring, rec)
	default:
		t.ring[t.next] = rec
		t.next = (t.next + 1) % t.max
	}
	if len(t.subs) == 0 {
		return
	}
	e := t.entry(rec, m)
	for c := range t.subs {
		// A follower that does not keep up loses messages rather than
		// slowing the session down.
		select {
		case c <- e:
		default:
		}
	}
}

// entry decodes a record (unless m, its decoded form, is given).
func (t *trace) entry(r traceRec, m wire.Message) TraceEntry {
	if m == nil {
		// Parse decodes what it can of an UPDATE with an RFC 7606 error
		// and returns it with the error, as when it was received.
		m, _ = wire.Parse(r.raw, &r.opts)
	}
	e := TraceEntry{Time: r.time, Peer: t.peer, Dir: r.dir, Msg: m}
	if len(r.raw) >= wire.HeaderLen {
		e.Type = wire.Type(r.raw[wire.HeaderLen-1]).String()
	}
	return e
}

func (t *trace) entries() []TraceEntry {
	t.mu.Lock()
	recs := append(slices.Clone(t.ring[t.next:]), t.ring[:t.next]...)
	t.mu.Unlock()
	out := make([]TraceEntry, len(recs))
	for i, r := range recs {
		out[i] = t.entry(r, nil)
	}
	return out
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
