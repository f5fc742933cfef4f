package fib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// batchLen is the number of route requests sent in one sendmsg. Only the
// last asks for an acknowledgement, but the kernel answers every failed
// request with its error: in the worst case all fail, and their answers
// (about 1 KB of receive buffer each, counting the kernel's overhead) must
// fit the socket's receive buffer (rcvBuf) until the batch is read back.
const batchLen = 64

// rcvBuf is the route socket's receive buffer: four times the worst case.
const rcvBuf = 256 << 10

// routeSocket is a raw rtnetlink socket that sends route requests in
// batches: many RTM_NEWROUTE/RTM_DELROUTE messages in one sendmsg, which
// rtnetlink processes one after the other before the call returns. Only
// the last requests an acknowledgement (NLM_F_ACK); a failed request is
// answered with its error anyway, before that acknowledgement. Compared
// with one request and one acknowledgement per route (netlink.Handle), a
// table of a few hundred routes costs a few system calls instead of a
// thousand, and no allocation per route. Owned by the FIB's writer
// goroutine (and by Close once the writer is gone).
type routeSocket struct {
	fd   int
	seq  uint32
	out  []byte
	in   []byte
	errs []error
}

// openRouteSocket opens a route socket inside the namespace at nsPath
// ("" for the caller's).
func openRouteSocket(nsPath string) (*routeSocket, error) {
	fd, err := rtnetlinkAt(nsPath)
	if err != nil {
		return nil, err
	}
	// Acknowledgements carry the error code only, not a copy of the
	// request; errors come with the kernel's explanation when it has one.
	unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	// The kernel answers before sendmsg returns; a read that waits longer
	// than this means an acknowledgement was lost, and must not hang the
	// writer.
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("fib: route socket buffer: %w", err)
	}
	// One answer per read (a datagram each), a few hundred bytes at most.
	return &routeSocket{fd: fd}, nil
}

func (s *routeSocket) close() error { return unix.Close(s.fd) }

// apply sends ops (install: replace; delete) in batches and returns one
// error per op, nil when the kernel accepted it. The returned slice is
// reused by the next call.
func (s *routeSocket) apply(ops []Op) []error {
	// The buffers are the process's, for the time of a batch: a lab has
	// a FIB per router, writing now and then.
	bufs := socketBufs.Get().(*socketBuf)
	s.out, s.in = bufs.out[:0], bufs.in[:]
	defer func() {
		bufs.out = s.out[:0]
		s.out, s.in = nil, nil
		socketBufs.Put(bufs)
	}()
	if cap(s.errs) > 4*batchLen {
		s.errs = nil
	}
	s.errs = s.errs[:0]
	for len(ops) > 0 {
		n := min(len(ops), batchLen)
		s.errs = s.exchange(ops[:n], s.errs)
		ops = ops[n:]
	}
	return s.errs
}

// socketBuf is a route socket's request and answer buffers.
type socketBuf struct {
	out []byte
	in  [4096]byte
}

var socketBufs = sync.Pool{New: func() any { return &socketBuf{out: make([]byte, 0, batchLen*96)} }}

// exchange sends one batch and collects its acknowledgements.
func (s *routeSocket) exchange(ops []Op, errs []error) []error {
	if s.seq > 1<<31 {
		s.seq = 0 // sequence numbers of a batch never wrap around
	}
	first := s.seq + 1
	s.out = s.out[:0]
	for i, op := range ops {
		s.seq++
		s.out = appendRouteMsg(s.out, op, s.seq, i == len(ops)-1)
	}
	last := s.seq
	base := len(errs)
	for range ops {
		errs = append(errs, nil)
	}
	if err := unix.Sendto(s.fd, s.out, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		for i := base; i < len(errs); i++ {
			errs[i] = fmt.Errorf("netlink send: %w", err)
		}
		return errs
	}
	for acked := false; !acked; {
		n, _, err := unix.Recvfrom(s.fd, s.in, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			// The answers are lost (or late): the outcome of every
			// request of the batch is unknown, so each counts as failed.
			for i := base; i < len(errs); i++ {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("netlink receive: %w", err)
				}
			}
			return errs
		}
		for b := s.in[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			typ := binary.NativeEndian.Uint16(b[4:])
			seq := binary.NativeEndian.Uint32(b[8:])
			body := b[unix.NLMSG_HDRLEN:l]
			b = b[min(nlmAlign(l), len(b)):]
			if typ != unix.NLMSG_ERROR || seq < first || seq > s.seq || len(body) < 4 {
				continue // not an answer to this batch
			}
			i := base + int(seq-first)
			if code := int32(binary.NativeEndian.Uint32(body)); code != 0 {
				errs[i] = ackError(unix.Errno(-code), body)
			}
			// Answers come in the order of the requests: the last
			// request's answer comes last.
			acked = seq == last
		}
	}
	return errs
}

// ackError is the error of an NLMSG_ERROR body: the errno, with the
// extended ack message when the kernel sent one (NETLINK_EXT_ACK).
func ackError(errno unix.Errno, body []byte) error {
	// body: error code (4), the request's header (16, NETLINK_CAP_ACK),
	// then TLV attributes when NLM_F_ACK_TLVS is set.
	const off = 4 + unix.NLMSG_HDRLEN
	for a := body[min(off, len(body)):]; len(a) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		typ := binary.NativeEndian.Uint16(a[2:])
		if l < unix.SizeofRtAttr || l > len(a) {
			break
		}
		if typ == unix.NLMSGERR_ATTR_MSG {
			msg := a[unix.SizeofRtAttr:l]
			for len(msg) > 0 && msg[len(msg)-1] == 0 {
				msg = msg[:len(msg)-1]
			}
			if len(msg) > 0 {
				return fmt.Errorf("%w: %s", errno, msg)
			}
		}
		a = a[min(rtaAlign(l), len(a)):]
	}
	return errno
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

// appendRouteMsg appends the request for op, as netlink.Handle's
// RouteReplace and RouteDel build it (`ip route replace/del`): table main,
// protocol Protocol, metric Metric, scope universe through a gateway and
// link without one, type unicast (install), the output interface.
func appendRouteMsg(b []byte, op Op, seq uint32, ack bool) []byte {
	r := op.Route
	typ, flags := uint16(unix.RTM_NEWROUTE), uint16(unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	if op.Delete {
		typ, flags = unix.RTM_DELROUTE, unix.NLM_F_REQUEST
	}
	if ack {
		flags |= unix.NLM_F_ACK
	}
	start := len(b)
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, 0) // length, set below
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // port id: the kernel's
	family := byte(unix.AF_INET6)
	if r.Dst.Addr().Is4() {
		family = unix.AF_INET
	}
	scope := byte(unix.RT_SCOPE_UNIVERSE)
	if !r.Gw.IsValid() {
		scope = unix.RT_SCOPE_LINK
	}
	rtype := byte(unix.RTN_UNICAST)
	if op.Delete {
		rtype = unix.RTN_UNSPEC
	}
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope,
	// type, flags.
	b = append(b, family, byte(r.Dst.Bits()), 0, 0, unix.RT_TABLE_MAIN, Protocol, scope, rtype)
	b = ne.AppendUint32(b, 0)
	b = appendAddrAttr(b, unix.RTA_DST, r.Dst.Addr())
	if r.Gw.IsValid() {
		b = appendAddrAttr(b, unix.RTA_GATEWAY, r.Gw.Unmap())
	}
	b = appendU32Attr(b, unix.RTA_PRIORITY, Metric)
	b = appendU32Attr(b, unix.RTA_OIF, uint32(r.IfIndex))
	ne.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// appendAddrAttr appends an address attribute: 4 or 16 bytes, no zone.
func appendAddrAttr(b []byte, typ uint16, a netip.Addr) []byte {
	if a.Is4() {
		b = binary.NativeEndian.AppendUint16(b, unix.SizeofRtAttr+4)
		b = binary.NativeEndian.AppendUint16(b, typ)
		v := a.As4()
		return append(b, v[:]...)
	}
	b = binary.NativeEndian.AppendUint16(b, unix.SizeofRtAttr+16)
	b = binary.NativeEndian.AppendUint16(b, typ)
	v := a.As16()
	return append(b, v[:]...)
}

func appendU32Attr(b []byte, typ uint16, v uint32) []byte {
	b = binary.NativeEndian.AppendUint16(b, unix.SizeofRtAttr+4)
	b = binary.NativeEndian.AppendUint16(b, typ)
	return binary.NativeEndian.AppendUint32(b, v)
}
