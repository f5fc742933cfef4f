package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
)

// routeProto is the rtm_protocol of the speakers' kernel routes
// (docs/design.md: "Kernel routes carry protocol number 200").
const routeProto = 200

// tableDumper dumps a namespace's main routing table over a raw rtnetlink
// socket opened inside it. It decodes only the route header and RTA_DST,
// so that a poll costs the machine little next to what it measures. Not
// safe for concurrent use; one per namespace, used by one poller at a time
// with that poller's receive buffer (dumpBufLen bytes).
type tableDumper struct {
	fd  int
	seq atomic.Uint32
}

// dumpBufLen is a poller's receive buffer: the kernel fills at most 32 KB
// per datagram of a dump.
const dumpBufLen = 64 << 10

// openDumper opens an rtnetlink socket in the namespace registered at
// nsPath. The socket belongs to that namespace for life, whatever thread
// uses it afterwards.
func openDumper(nsPath string) (*tableDumper, error) {
	fd, err := nsthread.NetlinkSocket(nsPath, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	return &tableDumper{fd: fd}, nil
}

func (d *tableDumper) Close() error { return unix.Close(d.fd) }

var errDumpInterrupted = errors.New("route dump interrupted")

// dump lists the main table's routes of protocol routeProto in family
// (unix.AF_INET or unix.AF_INET6) and calls fn with each destination.
func (d *tableDumper) dump(buf []byte, family uint8, fn func(netip.Prefix)) error {
	for try := 0; ; try++ {
		err := d.dumpOnce(buf, family, fn)
		if !errors.Is(err, errDumpInterrupted) || try == 4 {
			return err
		}
	}
}

func (d *tableDumper) dumpOnce(buf []byte, family uint8, fn func(netip.Prefix)) error {
	seq := d.seq.Add(1)
	var req [unix.NLMSG_HDRLEN + unix.SizeofRtMsg]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.RTM_GETROUTE)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	req[unix.NLMSG_HDRLEN] = family
	if err := unix.Sendto(d.fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("route dump request: %w", err)
	}
	interrupted := false
	for {
		n, _, err := unix.Recvfrom(d.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("route dump: %w", err)
		}
		b := buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(ne.Uint32(b[0:]))
			typ := ne.Uint16(b[4:])
			flags := ne.Uint16(b[6:])
			mseq := ne.Uint32(b[8:])
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return fmt.Errorf("route dump: bad message length %d", l)
			}
			msg := b[unix.NLMSG_HDRLEN:l]
			if al := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1); al <= len(b) {
				b = b[al:]
			} else {
				b = b[len(b):]
			}
			if mseq != seq {
				continue // an answer to an earlier, abandoned dump
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch typ {
			case unix.NLMSG_DONE:
				if interrupted {
					return errDumpInterrupted
				}
				return nil
			case unix.NLMSG_ERROR:
				if len(msg) >= 4 {
					if errno := int32(ne.Uint32(msg)); errno != 0 {
						return fmt.Errorf("route dump: %w", unix.Errno(-errno))
					}
				}
				return nil
			case unix.RTM_NEWROUTE:
				decodeRoute(msg, fn)
			}
		}
	}
}

// decodeRoute calls fn with the destination of an RTM_NEWROUTE body when
// the route is ours and in the main table.
func decodeRoute(msg []byte, fn func(netip.Prefix)) {
	if len(msg) < unix.SizeofRtMsg {
		return
	}
	family, dstLen, table, proto := msg[0], int(msg[1]), uint32(msg[4]), msg[5]
	if proto != routeProto {
		return
	}
	ne := binary.NativeEndian
	var dst []byte
	for a := msg[unix.SizeofRtMsg:]; len(a) >= unix.SizeofRtAttr; {
		l := int(ne.Uint16(a[0:]))
		typ := ne.Uint16(a[2:])
		if l < unix.SizeofRtAttr || l > len(a) {
			return
		}
		v := a[unix.SizeofRtAttr:l]
		switch typ {
		case unix.RTA_DST:
			dst = v
		case unix.RTA_TABLE:
			if len(v) >= 4 {
				table = ne.Uint32(v)
			}
		}
		al := (l + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1)
		if al >= len(a) {
			break
		}
		a = a[al:]
	}
	if table != unix.RT_TABLE_MAIN {
		return
	}
	var addr netip.Addr
	switch {
	case family == unix.AF_INET && len(dst) == 4:
		addr = netip.AddrFrom4([4]byte(dst))
	case family == unix.AF_INET6 && len(dst) == 16:
		addr = netip.AddrFrom16([16]byte(dst))
	default:
		return
	}
	fn(netip.PrefixFrom(addr, dstLen))
}

// has reports whether the main table holds our route to exactly p: a
// single RTM_GETROUTE lookup with RTM_F_FIB_MATCH, which answers with the
// table entry that matched rather than a resolved route, far cheaper than
// a dump while a router still misses prefixes.
func (d *tableDumper) has(buf []byte, p netip.Prefix) (bool, error) {
	seq := d.seq.Add(1)
	ne := binary.NativeEndian
	alen := 4
	family := uint8(unix.AF_INET)
	if p.Addr().Is6() {
		alen, family = 16, unix.AF_INET6
	}
	l := unix.NLMSG_HDRLEN + unix.SizeofRtMsg + unix.SizeofRtAttr + alen
	req := make([]byte, l, 64)
	ne.PutUint32(req[0:], uint32(l))
	ne.PutUint16(req[4:], unix.RTM_GETROUTE)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], seq)
	rt := req[unix.NLMSG_HDRLEN:]
	rt[0] = family
	rt[1] = byte(p.Bits())
	ne.PutUint32(rt[8:], unix.RTM_F_FIB_MATCH)
	a := rt[unix.SizeofRtMsg:]
	ne.PutUint16(a[0:], uint16(unix.SizeofRtAttr+alen))
	ne.PutUint16(a[2:], unix.RTA_DST)
	copy(a[unix.SizeofRtAttr:], p.Addr().AsSlice())
	if err := unix.Sendto(d.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, fmt.Errorf("route lookup: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(d.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return false, fmt.Errorf("route lookup: %w", err)
		}
		b := buf[:n]
		if len(b) < unix.NLMSG_HDRLEN {
			return false, fmt.Errorf("route lookup: short answer")
		}
		ml := int(ne.Uint32(b[0:]))
		if ml < unix.NLMSG_HDRLEN || ml > len(b) {
			return false, fmt.Errorf("route lookup: bad message length %d", ml)
		}
		if ne.Uint32(b[8:]) != seq {
			continue
		}
		msg := b[unix.NLMSG_HDRLEN:ml]
		switch ne.Uint16(b[4:]) {
		case unix.NLMSG_ERROR:
			// No route at all (ENETUNREACH) is an answer, not a failure.
			return false, nil
		case unix.RTM_NEWROUTE:
			found := false
			decodeRoute(msg, func(q netip.Prefix) { found = q == p })
			return found, nil
		}
		return false, fmt.Errorf("route lookup: unexpected message type %d", ne.Uint16(b[4:]))
	}
}
