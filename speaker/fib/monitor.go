package fib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// monitorGroups are the rtnetlink multicast groups whose notifications
// can change a next hop's reachability: interfaces, addresses, routes.
var monitorGroups = []int{
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
}

// subscribe opens one netlink socket in the namespace at nsPath, joined
// to monitorGroups, and starts the goroutine that turns whatever arrives
// on it into a signal on events (coalesced; the tracker dumps the tables
// again anyway). A socket filter in the kernel drops the notifications of
// our own routes (protocol Protocol) before they are queued: they never
// change reachability, and a speaker installing a few hundred routes
// would otherwise wake itself a few hundred times. The goroutine ends
// when t.mon is closed.
func (t *Tracker) subscribe(nsPath string, events chan struct{}) error {
	fd, err := socketAt(nsPath, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		unix.Close(fd)
		return err
	}
	for _, g := range monitorGroups {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil {
			return fail(fmt.Errorf("fib: join rtnetlink group %d: %w", g, err))
		}
	}
	prog, err := ownRoutesFilter()
	if err != nil {
		return fail(err)
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		return fail(fmt.Errorf("fib: attach socket filter: %w", err))
	}
	// Non-blocking, so that os.File reads wait in the runtime's poller
	// rather than holding an OS thread per speaker.
	if err := unix.SetNonblock(fd, true); err != nil {
		return fail(fmt.Errorf("fib: netlink socket: %w", err))
	}
	t.mon = os.NewFile(uintptr(fd), "rtnetlink-monitor")
	signal := func() {
		select {
		case events <- struct{}{}:
		default:
		}
	}
	go func() {
		// Only the arrival matters, not the content: a short buffer
		// truncates the datagram, which is fine.
		buf := make([]byte, 256)
		hook := monitorHook
		for {
			n, err := t.mon.Read(buf)
			switch {
			case err == nil:
				if hook != nil {
					hook(buf[:n])
				}
				signal()
			case errors.Is(err, unix.ENOBUFS):
				// Notifications were lost: dump again.
				signal()
			default:
				// Closed (Close), or broken: one last rebuild either way.
				signal()
				return
			}
		}
	}()
	return nil
}

// monitorHook, when set (tests), sees every notification that passes the
// filter. It is read when a tracker starts.
var monitorHook func(msg []byte)

// ownRoutesFilter is a classic BPF socket filter that drops RTM_NEWROUTE
// and RTM_DELROUTE notifications of protocol Protocol and accepts
// everything else. BPF loads half-words in network byte order while
// netlink headers are in the host's: the message types are compared in
// the form the filter sees them.
func ownRoutesFilter() (*unix.SockFprog, error) {
	asLoaded := func(typ uint16) uint32 {
		var b [2]byte
		binary.NativeEndian.PutUint16(b[:], typ)
		return uint32(binary.BigEndian.Uint16(b[:]))
	}
	const (
		typeOff  = 4                     // nlmsghdr.nlmsg_type
		protoOff = unix.NLMSG_HDRLEN + 5 // rtmsg.rtm_protocol
		accept   = 0xffffffff            // the whole message
		drop     = 0                     // nothing
	)
	raw, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: typeOff, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: asLoaded(unix.RTM_NEWROUTE), SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: asLoaded(unix.RTM_DELROUTE), SkipFalse: 3},
		bpf.LoadAbsolute{Off: protoOff, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: Protocol, SkipFalse: 1},
		bpf.RetConstant{Val: drop},
		bpf.RetConstant{Val: accept},
	})
	if err != nil {
		return nil, fmt.Errorf("fib: assemble socket filter: %w", err)
	}
	fs := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		fs[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return &unix.SockFprog{Len: uint16(len(fs)), Filter: &fs[0]}, nil
}
