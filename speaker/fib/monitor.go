package fib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// monitorGroups are the rtnetlink multicast groups whose notifications
// can change a next hop's reachability: interfaces and addresses. Not
// routes: the routes of a router's namespace are ours, which never make a
// next hop reachable, and the kernel's connected routes, which come and go
// with the addresses and links they follow (and the tracker dumps the
// routes with every rebuild). Listening to routes costs a lab dearly: the
// kernel offers every route notification of the machine to every socket
// that joined a route group, and to one that listens to every namespace
// (the hub) only after looking the namespace's id up, by a linear search
// of the ids — for each of the tens of thousands of routes a large lab
// installs. A route a user adds by hand in a router's namespace (a static
// route to a next hop) is seen at the next link or address change, or
// when the speaker is asked to read the kernel again (SyncKernel).
var monitorGroups = []int{
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
}

// subscribe has whatever notification of monitorGroups arrives from the
// namespace at nsPath signalled on events (coalesced; the tracker dumps
// the tables again anyway): through the process's hub (hub.go), or, when
// the hub cannot serve the namespace (no namespace ids in a container),
// through a socket of the tracker's own (subscribeOwn).
func (t *Tracker) subscribe(nsPath string, events chan struct{}) error {
	if hb, err := getHub(); err == nil && !noHub {
		if unsub, err := hb.add(nsPath, events); err == nil {
			t.unsub = unsub
			return nil
		}
	}
	return t.subscribeOwn(nsPath, events)
}

// noHub makes trackers open sockets of their own (tests of that path).
var noHub bool

// joinAndFilter joins a netlink socket to monitorGroups and attaches a
// socket filter that drops the notifications of our own routes
// (protocol Protocol) in the kernel, before they are queued: they never
// change reachability, and a speaker installing a few hundred routes
// would otherwise wake itself a few hundred times.
func joinAndFilter(fd int) error {
	for _, g := range monitorGroups {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, g); err != nil {
			return fmt.Errorf("fib: join rtnetlink group %d: %w", g, err)
		}
	}
	prog, err := ownRoutesFilter()
	if err != nil {
		return err
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
		return fmt.Errorf("fib: attach socket filter: %w", err)
	}
	return nil
}

// subscribeOwn opens one netlink socket in the namespace at nsPath,
// joined to monitorGroups and filtered (joinAndFilter), and starts the
// goroutine that turns whatever arrives on it into a signal on events.
// The goroutine ends when t.mon is closed.
func (t *Tracker) subscribeOwn(nsPath string, events chan struct{}) error {
	fd, err := rtnetlinkAt(nsPath)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		unix.Close(fd)
		return err
	}
	if err := joinAndFilter(fd); err != nil {
		return fail(err)
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
		var hook func([]byte)
		if h := monitorHook.Load(); h != nil {
			hook = *h
		}
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
// filter, of any namespace when it reaches the hub. A tracker's own socket
// reads it when the tracker starts; the hub, at every notification.
var monitorHook atomic.Pointer[func(msg []byte)]

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
