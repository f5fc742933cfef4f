package session

import (
	"bytes"
	"sync"
	"time"

	"lab/speaker/wire"
)

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
// an UPDATE is several times larger decoded than encoded. The bytes live
// in one ring buffer per peer (buf), not in an allocation per message:
// hundreds of thousands of small allocations, a few of which the trace
// keeps, would leave the heap's pages of that size sparsely used for good.
// The ring holds max messages at most, and as many of the last ones as
// its bytes hold; a message larger than a quarter of the ring is kept in
// an allocation of its own.
type trace struct {
	mu   sync.Mutex
	peer string
	max  int
	// recs is a ring of records: n of them, the oldest at first.
	recs     []traceRec
	first, n int
	// buf is the byte ring: used bytes end at head (wrapping around).
	buf        []byte
	head, used int
	subs       map[chan TraceEntry]struct{}
}

// traceRec is one traced message.
type traceRec struct {
	at int64 // Unix nanoseconds
	// big holds a message kept apart; else the message is buf[off:off+size],
	// and alloc is the bytes it took in the ring (padding before off
	// included, when it wrapped around).
	big                []byte
	off, size, alloc   int32
	received, as4, ext bool
}

// traceBytesPerMsg sizes a peer's byte ring: max messages of this size
// on average (a lab's UPDATEs are 60 to 100 bytes).
const traceBytesPerMsg = 96

// traceMinBuf is the ring's first size; it doubles as it fills.
const traceMinBuf = 1 << 10

func newTrace(n int, peer string) *trace {
	return &trace{peer: peer, max: n, subs: make(map[chan TraceEntry]struct{})}
}

// add records a copy of the message raw, sent or received at now,
// encoded with opts; m is its decoded form when the caller has it (nil:
// decoded here if a follower needs it).
func (t *trace) add(dir Direction, now time.Time, raw []byte, opts wire.Options, m wire.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.max <= 0 {
		return
	}
	if t.n == t.max {
		t.evict()
	}
	rec := traceRec{at: now.UnixNano(), size: int32(len(raw)), received: dir == Received, as4: opts.AS4, ext: opts.ExtendedMessage}
	if bufMax := t.max * traceBytesPerMsg; len(raw) > bufMax/4 {
		rec.big = bytes.Clone(raw)
	} else {
		t.store(&rec, raw, bufMax)
	}
	if len(t.recs) < t.max && t.n == len(t.recs) {
		// The record ring grows as messages come, up to max.
		grown := make([]traceRec, min(max(2*len(t.recs), 16), t.max))
		for i := range t.n {
			grown[i] = t.recs[(t.first+i)%len(t.recs)]
		}
		t.recs, t.first = grown, 0
	}
	t.recs[(t.first+t.n)%len(t.recs)] = rec
	t.n++
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

// store copies raw into the byte ring for rec, growing the ring (up to
// bufMax) or evicting the oldest records to make room.
func (t *trace) store(rec *traceRec, raw []byte, bufMax int) {
	size := len(raw)
	for {
		c := len(t.buf)
		pos, need := t.head, size
		if t.head+size > c {
			pos, need = 0, c-t.head+size // the end of the ring is skipped
		}
		if need <= c-t.used {
			copy(t.buf[pos:], raw)
			rec.off, rec.alloc = int32(pos), int32(need)
			t.head, t.used = pos+size, t.used+need
			return
		}
		if c < bufMax {
			t.grow(min(max(2*c, traceMinBuf, size), bufMax))
			continue
		}
		t.evict()
	}
}

// grow moves the ring's messages, oldest first, to a new ring of size c.
func (t *trace) grow(c int) {
	buf := make([]byte, c)
	off := 0
	for i := range t.n {
		r := &t.recs[(t.first+i)%len(t.recs)]
		if r.big != nil {
			continue
		}
		copy(buf[off:], t.buf[r.off:r.off+r.size])
		r.off, r.alloc = int32(off), r.size
		off += int(r.size)
	}
	t.buf, t.head, t.used = buf, off, off
}

// evict drops the oldest record.
func (t *trace) evict() {
	if t.n == 0 {
		return
	}
	r := &t.recs[t.first]
	if r.big == nil {
		t.used -= int(r.alloc)
	}
	*r = traceRec{}
	t.first = (t.first + 1) % len(t.recs)
	t.n--
	if t.n == 0 {
		t.head, t.used = 0, 0
	}
}

// raw returns a record's message bytes: valid while t.mu is held.
func (t *trace) raw(r traceRec) []byte {
	if r.big != nil {
		return r.big
	}
	return t.buf[r.off : r.off+r.size]
}

// entry decodes a record (unless m, its decoded form, is given). Called
// with t.mu held, or with a record whose bytes are its own (big).
func (t *trace) entry(r traceRec, m wire.Message) TraceEntry {
	raw := t.raw(r)
	if m == nil {
		// Parse decodes what it can of an UPDATE with an RFC 7606 error
		// and returns it with the error, as when it was received.
		o := wire.Options{AS4: r.as4, ExtendedMessage: r.ext}
		m, _ = wire.Parse(raw, &o)
	}
	dir := Sent
	if r.received {
		dir = Received
	}
	e := TraceEntry{Time: time.Unix(0, r.at), Peer: t.peer, Dir: dir, Msg: m}
	if len(raw) >= wire.HeaderLen {
		e.Type = wire.Type(raw[wire.HeaderLen-1]).String()
	}
	return e
}

func (t *trace) entries() []TraceEntry {
	// Copies of the records, with their bytes, taken under the lock and
	// decoded outside it: the session goes on tracing meanwhile.
	t.mu.Lock()
	recs := make([]traceRec, t.n)
	for i := range recs {
		r := t.recs[(t.first+i)%len(t.recs)]
		r.big = bytes.Clone(t.raw(r))
		recs[i] = r
	}
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
			// Closed under mu, which add holds while it sends: the
			// follower's range over the channel ends.
			t.mu.Lock()
			delete(t.subs, c)
			close(c)
			t.mu.Unlock()
		})
	}
}
