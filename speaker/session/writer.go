package session

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"lab/speaker/wire"
)

// outMsg is a message written to a connection, as onSent sees it: its
// encoding (valid only during the call) and the options it was encoded
// with (for the trace, which decodes it again).
type outMsg struct {
	b []byte
	o wire.Options
}

// writer owns the write side of a connection. The session and decision
// goroutines queue messages with send (or queue, then flush); a writer goroutine
// writes them in batches (one write per chunk of the queue), so neither
// ever blocks on TCP. The goroutine runs only while there is something to
// write, and the queue's chunks are taken from a pool while there is: a lab
// has thousands of connections, most of them idle most of the time.
type writer struct {
	nc     net.Conn
	onSent func(outMsg)

	mu sync.Mutex
	// bufs hold the queued messages back to back, in chunks of
	// writeChunk bytes (a message is never split), msgs their lengths
	// and options; guarded by mu.
	bufs     []*[]byte
	msgs     []queuedMsg
	spare    []queuedMsg // a written batch's msgs, for the next one
	spareBuf []*[]byte   // and its list of chunks
	closing  bool        // close once the queue is written
	stopped  bool        // the connection is closed: drop what comes
	running  bool        // a writer goroutine runs
	finished bool        // done is closed
	done     chan struct{}
	// keepalive is a KEEPALIVE waiting to go out ahead of the queued
	// messages (sendKeepalive), encoded with kaOpts; guarded by mu.
	keepalive bool
	kaOpts    wire.Options

	// updatesSent counts the UPDATEs written on the connection, and
	// updatesRcvd those received from it (the session goroutine counts
	// them): once nothing is in flight, the two ends of a session agree
	// on them, whatever an earlier connection of theirs lost.
	updatesSent, updatesRcvd atomic.Uint64
}

// writeChunk is the size of a queue's chunks, the most a writer writes
// in one call when more is queued: between two calls, a KEEPALIVE queued
// meanwhile goes first, so that a whole table queued for a slow peer does
// not hold it back. A busy speaker queues megabytes in a round for its
// peers: in chunks, the queue never moves as it grows, and every chunk
// goes back to the pool.
const writeChunk = 32 << 10

// queuedMsg is the length and options of a queued message.
type queuedMsg struct {
	n int32
	o wire.Options
}

func newWriter(nc net.Conn, onSent func(outMsg)) *writer {
	return &writer{nc: nc, onSent: onSent, done: make(chan struct{})}
}

// send queues a message encoded as b with options o and has it written.
func (w *writer) send(b []byte, o wire.Options) {
	w.queue(b, o)
	w.flush()
}

// queue queues a copy of the message b without waking the writer: the
// decision engine queues a round's UPDATEs, then flushes them together.
// The caller may reuse b. It reports whether the message was queued (not
// once the connection is closing).
func (w *writer) queue(b []byte, o wire.Options) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.closing {
		return false
	}
	w.queueLocked(b, o)
	return true
}

// queueLocked appends a copy of b to the queue. Called with mu held.
func (w *writer) queueLocked(b []byte, o wire.Options) {
	var last *[]byte
	if n := len(w.bufs); n > 0 {
		last = w.bufs[n-1]
	}
	if last == nil || len(*last)+len(b) > cap(*last) {
		if len(b) <= writeChunk {
			last = writeBufs.Get().(*[]byte)
		} else {
			// An extended message (RFC 8654) larger than a chunk.
			nb := make([]byte, 0, len(b))
			last = &nb
		}
		w.bufs = append(w.bufs, last)
	}
	*last = append(*last, b...)
	w.msgs = append(w.msgs, queuedMsg{n: int32(len(b)), o: o})
}

// sendKeepalive has a KEEPALIVE written ahead of what is queued and not
// being written yet (it carries nothing whose order matters), at once.
// One waiting is enough: a second is not added. Nothing is sent once the
// connection is closing.
func (w *writer) sendKeepalive(o wire.Options) {
	w.mu.Lock()
	if w.stopped || w.closing {
		w.mu.Unlock()
		return
	}
	w.keepalive, w.kaOpts = true, o
	w.mu.Unlock()
	w.flush()
}

// flush has what is queued written, and a closing or stopped connection
// closed.
func (w *writer) flush() {
	w.mu.Lock()
	start := !w.running && !w.finished && (len(w.msgs) > 0 || w.keepalive || w.closing || w.stopped)
	if start {
		w.running = true
	}
	w.mu.Unlock()
	if start {
		go w.run()
	}
}

// queued returns the number of messages waiting: OutQ.
func (w *writer) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.msgs)
}

// closeAfterFlush closes the connection once what is queued, then last
// (a NOTIFICATION, or nil), is written, or after 2 s. last is queued and
// the queue closed in one step: nothing another goroutine queues (the decision
// goroutine's UPDATEs) can follow the NOTIFICATION on the wire.
func (w *writer) closeAfterFlush(last []byte, o wire.Options) {
	w.mu.Lock()
	if last != nil && !w.stopped && !w.closing {
		w.queueLocked(last, o)
	}
	w.closing = true
	w.mu.Unlock()
	w.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	w.flush()
}

// abort closes the connection at once.
func (w *writer) abort() {
	w.mu.Lock()
	w.stopped = true
	w.drop()
	w.mu.Unlock()
	w.nc.Close()
	w.flush()
}

// drop forgets the queue. Called with mu held.
func (w *writer) drop() {
	putWriteBufs(w.bufs)
	w.bufs, w.msgs = nil, nil
}

// run is the writer goroutine: it writes batches until the queue is
// empty, and ends; once the connection is to be closed, it closes it and
// done.
func (w *writer) run() {
	for {
		w.mu.Lock()
		bufs, msgs := w.bufs, w.msgs
		w.bufs, w.msgs, w.spare, w.spareBuf = w.spareBuf, w.spare, nil, nil
		closing, stopped := w.closing, w.stopped
		if len(msgs) == 0 && !w.keepalive && !closing && !stopped {
			w.running = false
			w.spare, w.spareBuf = msgs, bufs // empty both
			w.mu.Unlock()
			return
		}
		if stopped || (closing && len(msgs) == 0) {
			w.stopped, w.finished, w.running = true, true, false
			w.keepalive = false
			w.drop()
			w.mu.Unlock()
			putWriteBufs(bufs)
			w.nc.Close()
			close(w.done)
			return
		}
		w.mu.Unlock()
		err := w.write(bufs, msgs)
		putWriteBufs(bufs)
		if err != nil {
			w.mu.Lock()
			w.stopped = true
			w.drop()
			w.mu.Unlock()
			continue // closes and ends
		}
		w.mu.Lock()
		// Only small lists are kept for the next batch.
		if w.spare == nil && cap(msgs) <= maxSpare {
			w.spare = msgs[:0]
		}
		if w.spareBuf == nil && cap(bufs) <= maxSpare {
			clear(bufs)
			w.spareBuf = bufs[:0]
		}
		w.mu.Unlock()
	}
}

// write writes a batch: the chunks of the queue, one call each, each
// preceded by the KEEPALIVE waiting, if any; msgs gives the lengths of
// their messages. A batch of nothing but a KEEPALIVE has no chunk.
func (w *writer) write(bufs []*[]byte, msgs []queuedMsg) error {
	if err := w.writeKeepalive(); err != nil {
		return err
	}
	for i, buf := range bufs {
		if i > 0 {
			if err := w.writeKeepalive(); err != nil {
				return err
			}
		}
		b := *buf
		if _, err := w.nc.Write(b); err != nil {
			return err
		}
		for off := 0; off < len(b) && len(msgs) > 0; {
			m := msgs[0]
			mb := b[off : off+int(m.n) : off+int(m.n)]
			if len(mb) >= wire.HeaderLen && wire.Type(mb[wire.HeaderLen-1]) == wire.TypeUpdate {
				w.updatesSent.Add(1)
			}
			w.onSent(outMsg{b: mb, o: m.o})
			off += int(m.n)
			msgs = msgs[1:]
		}
	}
	return nil
}

// writeKeepalive writes the KEEPALIVE waiting, if any.
func (w *writer) writeKeepalive() error {
	w.mu.Lock()
	ka, o := w.keepalive && !w.closing && !w.stopped, w.kaOpts
	w.keepalive = false
	w.mu.Unlock()
	if !ka {
		return nil
	}
	var m [wire.HeaderLen]byte
	for i := range 16 {
		m[i] = 0xff
	}
	m[17], m[18] = wire.HeaderLen, byte(wire.TypeKeepalive)
	if _, err := w.nc.Write(m[:]); err != nil {
		return err
	}
	w.onSent(outMsg{b: m[:], o: o})
	return nil
}

// maxSpare is the capacity of the largest message list a writer keeps
// between batches.
const maxSpare = 64

// writeBufs are the chunks of the writers' queues, shared by every writer
// of the process: few have something queued at once.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk); return &b }}

// putWriteBufs gives a queue's chunks back to the pool (not one made for
// a message larger than a chunk).
func putWriteBufs(bufs []*[]byte) {
	for _, b := range bufs {
		if cap(*b) != writeChunk {
			continue
		}
		*b = (*b)[:0]
		writeBufs.Put(b)
	}
}
