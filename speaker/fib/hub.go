package fib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// hub is the process's one rtnetlink notification socket, shared by every
// Tracker: it listens to monitorGroups in every namespace at once
// (NETLINK_LISTEN_ALL_NSID) and tells each tracker of its namespace's
// notifications by their namespace id.
//
// Why one socket: the kernel delivers a notification by walking every
// socket of the machine that joined a group of the protocol, whatever its
// namespace, and skipping those of other namespaces one by one. With a
// tracker socket per router, each of the lab's route installs walked them
// all: in a 200-router lab, 80,000 installs times 200 sockets, the
// kernel's busiest function during convergence. With the hub the walk is
// one socket long.
//
// Namespace ids are those of the hub's namespace (the process's): a
// namespace without one gets one, as `ip netns set NAME auto` gives it;
// the id goes with the namespace.
type hub struct {
	f *os.File
	// self identifies the hub's namespace: its notifications carry no id
	// (or selfID, when the namespace has an id for itself).
	self   nsIdent
	selfID int32

	mu sync.Mutex
	// h asks for namespace ids in the hub's namespace; guarded by mu.
	h *netlink.Handle
	// subs are the trackers' event channels by namespace id (noNSID for
	// the hub's own namespace).
	subs map[int32]map[chan struct{}]struct{}
}

// noNSID stands for the hub's own namespace, whose notifications carry no
// namespace id (NETNSA_NSID_NOT_ASSIGNED).
const noNSID = -1

type nsIdent struct{ dev, ino uint64 }

func identOf(fd int) (nsIdent, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nsIdent{}, err
	}
	return nsIdent{uint64(st.Dev), st.Ino}, nil
}

var (
	hubOnce sync.Once
	theHub  *hub
	hubErr  error
)

// getHub returns the process's hub, opening it on first use.
func getHub() (*hub, error) {
	hubOnce.Do(func() { theHub, hubErr = openHub() })
	return theHub, hubErr
}

// hubNS is the namespace the hub lives in: the process's, which
// /proc/self names (its main thread's), whatever thread opens the hub.
const hubNS = "/proc/self/ns/net"

func openHub() (*hub, error) {
	nsf, err := os.Open(hubNS)
	if err != nil {
		return nil, fmt.Errorf("fib: %s: %w", hubNS, err)
	}
	defer nsf.Close()
	self, err := identOf(int(nsf.Fd()))
	if err != nil {
		return nil, fmt.Errorf("fib: %s: %w", hubNS, err)
	}
	h, err := handleAt(hubNS)
	if err != nil {
		return nil, err
	}
	selfID := int32(noNSID)
	if id, err := h.GetNetNsIdByFd(int(nsf.Fd())); err == nil && id >= 0 {
		selfID = int32(id)
	}
	fd, err := rtnetlinkAt(hubNS)
	if err != nil {
		h.Close()
		return nil, err
	}
	fail := func(err error) (*hub, error) {
		unix.Close(fd)
		h.Close()
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_LISTEN_ALL_NSID, 1); err != nil {
		return fail(fmt.Errorf("fib: listen to every namespace: %w", err))
	}
	if err := joinAndFilter(fd); err != nil {
		return fail(err)
	}
	// Every namespace's notifications queue here: a burst of link
	// changes in a large lab must not overflow it (it would cost every
	// tracker a rebuild). Beyond rmem_max needs CAP_NET_ADMIN.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, hubRcvBuf); err != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, hubRcvBuf)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fail(fmt.Errorf("fib: netlink socket: %w", err))
	}
	hb := &hub{
		f: os.NewFile(uintptr(fd), "rtnetlink-hub"), self: self, selfID: selfID,
		h: h, subs: make(map[int32]map[chan struct{}]struct{}),
	}
	go hb.run()
	return hb, nil
}

// hubRcvBuf is the hub socket's receive buffer.
const hubRcvBuf = 8 << 20

// add subscribes events to the notifications of the namespace at nsPath
// ("" for the calling thread's), and returns the function that ends the
// subscription.
func (hb *hub) add(nsPath string, events chan struct{}) (func(), error) {
	var ns netns.NsHandle
	var err error
	if nsPath == "" {
		ns, err = netns.Get()
	} else {
		ns, err = netns.GetFromPath(nsPath)
	}
	if err != nil {
		return nil, fmt.Errorf("fib: namespace %q: %w", nsPath, err)
	}
	defer ns.Close()
	hb.mu.Lock()
	defer hb.mu.Unlock()
	id, err := hb.nsid(int(ns))
	if err != nil {
		return nil, fmt.Errorf("fib: namespace %q: %w", nsPath, err)
	}
	set := hb.subs[id]
	if set == nil {
		set = make(map[chan struct{}]struct{})
		hb.subs[id] = set
	}
	set[events] = struct{}{}
	return func() {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		delete(hb.subs[id], events)
		if len(hb.subs[id]) == 0 {
			delete(hb.subs, id)
		}
	}, nil
}

// nsid returns the id of the namespace open as fd in the hub's namespace,
// giving it one if it has none. Called with mu held.
func (hb *hub) nsid(fd int) (int32, error) {
	id, err := identOf(fd)
	if err != nil {
		return 0, err
	}
	if id == hb.self {
		return noNSID, nil
	}
	nsid, err := hb.h.GetNetNsIdByFd(fd)
	if err != nil {
		return 0, fmt.Errorf("get its id: %w", err)
	}
	if nsid < 0 {
		// -1: the kernel picks the id. EEXIST: another process gave it
		// one meanwhile.
		if err := hb.h.SetNetNsIdByFd(fd, -1); err != nil && !errors.Is(err, unix.EEXIST) {
			return 0, fmt.Errorf("give it an id: %w", err)
		}
		if nsid, err = hb.h.GetNetNsIdByFd(fd); err != nil {
			return 0, fmt.Errorf("get its id: %w", err)
		}
		if nsid < 0 {
			return 0, errors.New("it has no id after one was given")
		}
	}
	return int32(nsid), nil
}

// run is the hub's goroutine: it reads notifications (only their start:
// a short buffer truncates them, the rest is dropped) and signals the
// trackers of their namespace. It runs as long as the process.
func (hb *hub) run() {
	rc, err := hb.f.SyscallConn()
	if err != nil {
		hb.signalAll()
		return
	}
	buf := make([]byte, 256)
	oob := make([]byte, 2*unix.CmsgSpace(4))
	for {
		var n, oobn int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		switch {
		case err != nil:
			// The socket is gone (never closed, so never in practice):
			// one last rebuild everywhere.
			hb.signalAll()
			return
		case rerr == nil:
			if hook := monitorHook.Load(); hook != nil {
				(*hook)(buf[:min(n, len(buf))])
			}
			hb.signal(hb.nsidOf(oob[:oobn]))
		case errors.Is(rerr, unix.EINTR):
		default:
			// ENOBUFS: notifications were lost, of any namespace; every
			// tracker dumps again.
			hb.signalAll()
		}
	}
}

// nsidOf reads the namespace id a notification came with.
func (hb *hub) nsidOf(oob []byte) int32 {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return noNSID
	}
	for _, m := range cms {
		if m.Header.Level == unix.SOL_NETLINK && m.Header.Type == unix.NETLINK_LISTEN_ALL_NSID && len(m.Data) >= 4 {
			id := int32(binary.NativeEndian.Uint32(m.Data))
			if id == hb.selfID {
				return noNSID
			}
			return id
		}
	}
	return noNSID
}

func (hb *hub) signal(id int32) {
	hb.mu.Lock()
	for c := range hb.subs[id] {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	hb.mu.Unlock()
}

func (hb *hub) signalAll() {
	hb.mu.Lock()
	for _, set := range hb.subs {
		for c := range set {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
	hb.mu.Unlock()
}
