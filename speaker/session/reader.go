package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"lab/speaker/ribwire"
	"lab/speaker/wire"
)

// fastUpdate stands for an UPDATE the fast decoder took, in the inputs a
// reader sends its session: the FSM only looks at its type.
var fastUpdate = &wire.Update{}

// readMessages is a connection's reader goroutine: it reads, decodes and
// hands every message to the session goroutine, until the connection
// fails. It decodes with the options negotiated by the OPENs (it sees the
// peer's OPEN first, and the local one is fixed before it starts), and
// turns UPDATEs into RIB terms here, beside the session and decision
// goroutines: the fast decoder takes the commonest ones, the general path
// (wire.Parse, ribwire.Convert) the rest.
func (s *session) readMessages(c *conn) {
	mr := newMsgReader(c.nc)
	defer mr.close()
	var opts wire.Options
	var fast ribwire.Decoder
	in := s.e.in
	ctx := s.e.ctx
	for {
		b, err := mr.next(opts.MaxLen())
		var m wire.Message
		x := input{kind: inRead, c: c}
		if err == nil {
			if s.e.observe != nil {
				x.raw, x.rawOpts = bytes.Clone(b), opts
			}
			if u, ok := fast.Decode(in, b, &opts, c.iface, c.ibgp); ok {
				m, x.upd = fastUpdate, u
				// Decoded again if a follower of the trace needs it.
				s.trace.add(Received, s.e.clock.Now(), b, opts, nil)
			} else {
				m, err = wire.Parse(b, &opts)
			}
		}
		x.msg, x.err = m, err
		if m != nil && m != fastUpdate {
			s.trace.add(Received, s.e.clock.Now(), b, opts, m)
			switch m := m.(type) {
			case *wire.Open:
				opts = wire.Negotiate(c.localOpen, m)
			case *wire.Update:
				// An RFC 7606 error the UPDATE survives comes with it.
				x.upd = ribwire.Convert(m, &opts, err, c.iface, c.ibgp)
				x.upd.Intern(in)
				x.err = nil
			}
		}
		// b is not used past here.
		if ctx.Err() != nil {
			// The speaker is closing: its queues are drained of
			// references once, after its goroutines stop.
			x.upd.Release(in)
			return
		}
		c.unread.Add(1)
		select {
		case s.reads <- x:
		case <-ctx.Done():
			x.upd.Release(in)
			return
		}
		if m == nil {
			return
		}
	}
}

// msgReader reads BGP messages from a connection. While nothing is
// buffered it reads into a small buffer of its own; what does not fit
// goes to a 4 KB buffer (the longest message without the extended
// message capability, RFC 8654, and 50 to 100 UPDATEs of a lab) taken
// from a pool, and given back once read. A lab has thousands of
// connections, idle most of the time: a buffer of 4 KB each would be
// megabytes that hold nothing.
type msgReader struct {
	nc    net.Conn
	buf   []byte // small[:], a pooled buffer, or one made for a large message
	r, w  int    // buf[r:w] is read and not consumed
	big   *[wire.MaxMessageLen]byte
	small [512]byte
}

var readBufs = sync.Pool{New: func() any { return new([wire.MaxMessageLen]byte) }}

func newMsgReader(nc net.Conn) *msgReader {
	m := &msgReader{nc: nc}
	m.buf = m.small[:]
	return m
}

// close gives the pooled buffer back.
func (m *msgReader) close() {
	if m.big != nil {
		readBufs.Put(m.big)
		m.big = nil
	}
	m.buf, m.r, m.w = m.small[:], 0, 0
}

// next returns the next message, of at most max bytes, valid until the
// following call. Errors are wire.ReadMessage's.
func (m *msgReader) next(max int) ([]byte, error) {
	if m.r == m.w {
		// Nothing buffered: wait in the small buffer.
		m.close()
	}
	if err := m.fill(wire.HeaderLen); err != nil {
		if errors.Is(err, io.EOF) && m.w > m.r {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	h, err := wire.ParseHeader(m.buf[m.r:m.r+wire.HeaderLen], max)
	if err != nil {
		return nil, err
	}
	size := int(h.Length)
	if err := m.fill(size); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %s body of %d bytes: %w", h.Type, size-wire.HeaderLen, err)
	}
	b := m.buf[m.r : m.r+size : m.r+size]
	m.r += size
	return b, nil
}

// fill reads until n bytes are buffered, moving them to a larger buffer
// first when the current one cannot hold them.
func (m *msgReader) fill(n int) error {
	for m.w-m.r < n {
		if len(m.buf)-m.r < n {
			m.grow(n)
		}
		k, err := m.nc.Read(m.buf[m.w:])
		m.w += k
		if err != nil && m.w-m.r < n {
			return err
		}
	}
	return nil
}

// grow moves the buffered bytes to the start of a buffer that holds n
// bytes: the small one while they fit it (and no pooled one is in use),
// else the pooled one, else one made for an extended message.
func (m *msgReader) grow(n int) {
	need := max(n, m.w-m.r)
	var nb []byte
	big := m.big
	switch {
	case need <= len(m.small) && big == nil:
		nb = m.small[:]
	case need <= wire.MaxMessageLen:
		if big == nil {
			big = readBufs.Get().(*[wire.MaxMessageLen]byte)
		}
		nb = big[:]
	default:
		nb, big = make([]byte, need), nil
	}
	copy(nb, m.buf[m.r:m.w]) // a move within one buffer is fine
	m.w -= m.r
	m.r = 0
	if m.big != nil && m.big != big {
		readBufs.Put(m.big)
	}
	m.buf, m.big = nb, big
}
