package speaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// outMsg is a message written to a connection, as onSent sees it: its
// encoding (valid only during the call) and the options it was encoded
// with (for the trace, which decodes it again).
type outMsg struct {
	b []byte
	o wire.Options
}

// writer owns the write side of a connection. Session and RIB goroutines
// queue messages with send (or queue, then flush); a writer goroutine
// writes them in batches (one write per batch), so neither ever blocks on
// TCP. The goroutine runs only while there is something to write, and the
// queue is a buffer taken from a pool while there is: a lab has thousands
// of connections, most of them idle most of the time.
type writer struct {
	nc     net.Conn
	onSent func(outMsg)

	mu sync.Mutex
	// buf holds the queued messages back to back, msgs their lengths and
	// options; guarded by mu.
	buf      *[]byte
	msgs     []queuedMsg
	spare    []queuedMsg // a written batch's msgs, for the next one
	closing  bool        // close once the queue is written
	stopped  bool        // the connection is closed: drop what comes
	running  bool        // a writer goroutine runs
	finished bool        // done is closed
	done     chan struct{}
}

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

// queue queues a copy of the message b without waking the writer: the RIB
// goroutine queues a round's UPDATEs, then flushes them together. The
// caller may reuse b.
func (w *writer) queue(b []byte, o wire.Options) {
	w.mu.Lock()
	if !w.stopped && !w.closing {
		w.queueLocked(b, o)
	}
	w.mu.Unlock()
}

// queueLocked appends a copy of b to the queue. Called with mu held.
func (w *writer) queueLocked(b []byte, o wire.Options) {
	if w.buf == nil {
		w.buf = writeBufs.Get().(*[]byte)
	}
	*w.buf = append(*w.buf, b...)
	w.msgs = append(w.msgs, queuedMsg{n: int32(len(b)), o: o})
}

// flush has what is queued written, and a closing or stopped connection
// closed.
func (w *writer) flush() {
	w.mu.Lock()
	start := !w.running && !w.finished && (len(w.msgs) > 0 || w.closing || w.stopped)
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
// the queue closed in one step: nothing another goroutine queues (the RIB
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
	putWriteBuf(w.buf)
	w.buf, w.msgs = nil, nil
}

// run is the writer goroutine: it writes batches until the queue is
// empty, and ends; once the connection is to be closed, it closes it and
// done.
func (w *writer) run() {
	for {
		w.mu.Lock()
		buf, msgs := w.buf, w.msgs
		w.buf, w.msgs, w.spare = nil, w.spare, nil
		closing, stopped := w.closing, w.stopped
		if len(msgs) == 0 && !closing && !stopped {
			w.running = false
			w.spare = msgs
			w.mu.Unlock()
			putWriteBuf(buf)
			return
		}
		if stopped || (closing && len(msgs) == 0) {
			w.stopped, w.finished, w.running = true, true, false
			w.drop()
			w.mu.Unlock()
			putWriteBuf(buf)
			w.nc.Close()
			close(w.done)
			return
		}
		w.mu.Unlock()
		if _, err := w.nc.Write(*buf); err != nil {
			putWriteBuf(buf)
			w.mu.Lock()
			w.stopped = true
			w.drop()
			w.mu.Unlock()
			continue // closes and ends
		}
		off := 0
		for _, m := range msgs {
			w.onSent(outMsg{b: (*buf)[off : off+int(m.n) : off+int(m.n)], o: m.o})
			off += int(m.n)
		}
		putWriteBuf(buf)
		w.mu.Lock()
		// Only a small list is kept for the next batch.
		if w.spare == nil && cap(msgs) <= maxSpare {
			w.spare = msgs[:0]
		}
		w.mu.Unlock()
	}
}

// maxSpare is the capacity of the largest message list a writer keeps
// between batches.
const maxSpare = 64

// writeBufs are the writers' queues, shared by every writer of the
// process: few have something queued at once. A queue that grew past
// maxWriteBuf (the whole table for a new peer) is not kept: hundreds of
// such buffers, taken for a few messages each, would be megabytes.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxWriteBuf = 16 << 10

func putWriteBuf(b *[]byte) {
	if b == nil || cap(*b) > maxWriteBuf {
		return
	}
	*b = (*b)[:0]
	writeBufs.Put(b)
}

// readMessages is a connection's reader goroutine: it reads, decodes and
// hands every message to the session goroutine, until the connection
// fails. It decodes with the options negotiated by the OPENs (it sees the
// peer's OPEN first, and the local one is fixed before it starts).
func (s *session) readMessages(c *conn) {
	mr := newMsgReader(c.nc)
	defer mr.close()
	var opts wire.Options
	var fast fastDecoder
	in := rib.Shared()
	for {
		b, err := mr.next(opts.MaxLen())
		var m wire.Message
		ev := sessEvent{kind: evRead, c: c}
		if err == nil {
			if u, ok := fast.decode(in, b, &opts, s.cfg.Interface, s.ibgp); ok {
				m, ev.upd = fastUpdateMsg, u
				// Decoded again if a follower of the trace needs it.
				s.trace.add(Received, s.sp.clock.Now(), b, opts, nil)
			} else {
				m, err = wire.Parse(b, &opts)
			}
		}
		ev.msg, ev.err = m, err
		if m != nil && m != fastUpdateMsg {
			now := s.sp.clock.Now()
			s.trace.add(Received, now, b, opts, m)
			switch m := m.(type) {
			case *wire.Open:
				opts = wire.Negotiate(c.localOpen, m)
			case *wire.Update:
				ev.upd = s.sp.convertIn(m, &opts, err, &s.cfg, s.ibgp)
				ev.upd.intern(in)
				ev.err = nil
			}
		}
		// b is not used past here.
		if s.ctx.Err() != nil {
			// The speaker is closing: its queues are drained of
			// references once, after its goroutines stop.
			ev.upd.release(in)
			return
		}
		select {
		case s.events <- ev:
		case <-s.ctx.Done():
			ev.upd.release(in)
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

// nsDial opens a TCP connection inside the speaker's namespace.
type nsDialer struct {
	sp *Speaker
}

func (d nsDialer) Dial(ctx context.Context, p *PeerConfig) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		// The socket is created on this thread, inside the namespace. The
		// thread is never unlocked: it ends with the goroutine, so its
		// namespace change never leaks to another goroutine.
		runtime.LockOSThread()
		if err := d.sp.enterNS(); err != nil {
			ch <- res{nil, err}
			return
		}
		nd := net.Dialer{
			LocalAddr: &net.TCPAddr{IP: p.LocalAddr.AsSlice(), Zone: p.LocalAddr.Zone()},
		}
		if p.Password != "" {
			nd.Control = md5Control(map[netip.Addr]string{p.PeerAddr: p.Password})
		}
		c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(p.PeerAddr.String(), strconv.Itoa(d.sp.port)))
		ch <- res{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func (sp *Speaker) enterNS() error {
	if !sp.hasNS {
		return nil
	}
	if err := netns.Set(sp.ns); err != nil {
		return fmt.Errorf("enter namespace %s: %w", sp.cfg.Namespace, err)
	}
	return nil
}

// md5Control sets a TCP MD5 key (RFC 2385) per peer address on a socket
// before it connects or listens.
func md5Control(keys map[netip.Addr]string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			for a, key := range keys {
				if serr = setMD5(int(fd), a, key); serr != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func setMD5(fd int, a netip.Addr, key string) error {
	if len(key) > unix.TCP_MD5SIG_MAXKEYLEN {
		return fmt.Errorf("TCP MD5 key for %v longer than %d bytes", a, unix.TCP_MD5SIG_MAXKEYLEN)
	}
	sig := unix.TCPMD5Sig{Keylen: uint16(len(key))}
	copy(sig.Key[:], key)
	if a.Is4() {
		sig.Addr.Family = unix.AF_INET
		ip := a.As4()
		copy(sig.Addr.Data[2:6], ip[:])
	} else {
		sig.Addr.Family = unix.AF_INET6
		ip := a.As16()
		copy(sig.Addr.Data[6:22], ip[:])
	}
	if err := unix.SetsockoptTCPMD5Sig(fd, unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig); err != nil {
		return fmt.Errorf("set TCP MD5 key for %v: %w", a, err)
	}
	return nil
}

// Listen opens the speaker's TCP listeners (IPv4 and IPv6, port 179) in
// its namespace, with the MD5 keys of its peers. The daemon calls it for
// every router before any speaker starts, so that the first connection of
// every session finds its peer listening. Start calls it if needed.
func (sp *Speaker) Listen() error {
	if err := sp.openNS(); err != nil {
		return err
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.listening || sp.cfg.Dialer != nil {
		// A custom Dialer means connections come from the test.
		sp.listening = true
		return nil
	}
	keys4 := map[netip.Addr]string{}
	keys6 := map[netip.Addr]string{}
	for _, p := range sp.cfg.Peers {
		if p.Password == "" {
			continue
		}
		if p.PeerAddr.Is4() {
			keys4[p.PeerAddr] = p.Password
		} else {
			keys6[p.PeerAddr] = p.Password
		}
	}
	type res struct {
		ls  []net.Listener
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see nsDialer.Dial
		if err := sp.enterNS(); err != nil {
			ch <- res{nil, err}
			return
		}
		var ls []net.Listener
		for _, x := range []struct {
			net, addr string
			keys      map[netip.Addr]string
		}{{"tcp4", "0.0.0.0", keys4}, {"tcp6", "::", keys6}} {
			lc := net.ListenConfig{}
			if len(x.keys) > 0 {
				lc.Control = md5Control(x.keys)
			}
			l, err := lc.Listen(context.Background(), x.net, net.JoinHostPort(x.addr, strconv.Itoa(sp.port)))
			if err != nil {
				for _, l := range ls {
					l.Close()
				}
				ch <- res{nil, fmt.Errorf("listen on %s port %d in %s: %w", x.net, sp.port, sp.cfg.Namespace, err)}
				return
			}
			ls = append(ls, l)
		}
		ch <- res{ls, nil}
	}()
	r := <-ch
	if r.err != nil {
		return fmt.Errorf("speaker %s: %w", sp.cfg.Name, r.err)
	}
	sp.listeners = r.ls
	sp.listening = true
	return nil
}

// accept is a listener's goroutine: it hands connections from configured
// peers to their session and refuses every other.
func (sp *Speaker) accept(l net.Listener) {
	defer sp.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			sp.log.printf("accept: %v", err)
			continue
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		sp.HandleConn(c, ap.Addr().Unmap().WithZone(""))
	}
}

// HandleConn gives the speaker an incoming connection from remote, as
// its listener does: a configured peer's session takes it, anything else
// is refused (closed at once). Tests use it with net.Pipe.
func (sp *Speaker) HandleConn(c net.Conn, remote netip.Addr) {
	s := sp.byAddr[remote]
	if s == nil {
		sp.log.printf("%%ADJCHANGE: connection from unknown peer %v refused", remote)
		sp.refused.Add(1)
		c.Close()
		return
	}
	select {
	case s.events <- sessEvent{kind: evConn, nc: c}:
	case <-sp.ctx.Done():
		c.Close()
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
