// Package nsthread runs code, and opens sockets, inside a Linux network
// namespace without ever leaving a thread of the Go scheduler in it.
//
// A network namespace belongs to an OS thread, not to a goroutine or a
// process, and a socket belongs for life to the namespace of the thread
// that created it, whatever thread uses it later. Entering a namespace
// therefore takes a thread of one's own: this package locks a new
// goroutine to its thread, enters the namespace there, runs the work, and
// lets the goroutine exit still locked. The Go runtime then ends the
// thread instead of giving it back to the scheduler, so a namespace change
// can never leak to another goroutine, even when it could not be undone.
// Threads the runtime starts while one is locked are cloned from its
// template thread, which never changes namespace, so they are not affected
// either. The main thread, which the runtime cannot end, never enters a
// namespace. The calling thread never changes namespace.
//
// The cost is a thread created and ended per call, about 0.1 ms
// (BenchmarkRun): this is for opening sockets and one-off configuration,
// not for a hot path. The sockets opened here are used afterwards from any goroutine.
package nsthread

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Throwaway runs fn on an OS thread of its own and waits for it. fn may
// change the thread's namespaces (setns, unshare) and leave them changed:
// the thread runs nothing else and ends with fn. fn must not expect
// goroutines it starts to share its thread's namespaces (they do not).
func Throwaway(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the goroutine exits locked, and the runtime ends
		// the thread with it.
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Except the main thread, which the runtime cannot end: it
			// parks it for good instead, in whatever namespace fn left it
			// (keeping that namespace alive, and making it the one
			// /proc/self/ns/net shows). fn runs on another thread; this
			// goroutine holds the main thread meanwhile, so that it
			// cannot be that one.
			err := Throwaway(fn)
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// NS is an open network namespace: a file descriptor on it and the name
// its errors give. A nil *NS stands for the caller's own namespace: its
// methods then work on the calling goroutine, with no thread of their own.
// An NS refers to the namespace itself, not to its path, so it stays the
// same namespace even if the path is unmounted or reused; it keeps the
// namespace alive until Close.
type NS struct {
	fd   int
	name string
}

// Open opens the network namespace at path: a registered one
// (/run/netns/NAME, as `ip netns add` makes) or any nsfs file
// (/proc/PID/ns/net). An empty path returns a nil *NS, the caller's
// namespace.
func Open(path string) (*NS, error) {
	if path == "" {
		return nil, nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", path, err)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil || sfs.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		if err == nil {
			err = unix.EINVAL
		}
		return nil, fmt.Errorf("network namespace %s: not a namespace: %w", path, err)
	}
	return &NS{fd: fd, name: path}, nil
}

// FromFd returns the NS of fd, a file descriptor open on a network
// namespace (a netns.NsHandle, an fd the caller duplicated), named name in
// errors. The NS owns fd: Close closes it.
func FromFd(fd int, name string) *NS {
	return &NS{fd: fd, name: name}
}

// Close closes the namespace's file descriptor. Closing a nil *NS, or an
// NS again, does nothing. No method may run concurrently with Close.
func (ns *NS) Close() error {
	if ns == nil || ns.fd < 0 {
		return nil
	}
	err := unix.Close(ns.fd)
	ns.fd = -1
	return err
}

// Fd returns the namespace's file descriptor (for IFLA_NET_NS_FD and the
// like), or -1 for a nil *NS. It is valid until Close.
func (ns *NS) Fd() int {
	if ns == nil {
		return -1
	}
	return ns.fd
}

// String returns the namespace's name (its path, for Open), or "" for a nil
// *NS.
func (ns *NS) String() string {
	if ns == nil {
		return ""
	}
	return ns.name
}

// Run runs fn on a thread of its own inside the namespace and waits for
// it: sockets fn opens belong to the namespace, and its netlink requests
// and /proc/sys/net accesses act on the namespace's network stack. A nil
// *NS runs fn on the calling goroutine. It returns an error naming the
// namespace if the thread cannot enter it, or else fn's error.
func (ns *NS) Run(fn func() error) error {
	if ns == nil {
		return fn()
	}
	return Throwaway(func() error {
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("entering network namespace %s: %w", ns.name, err)
		}
		return fn()
	})
}

// Dial connects to addr on network with d (nil: a zero net.Dialer), from a
// socket created inside the namespace. Inside a namespace, the host of an
// IP network (tcp, udp, ip, and their 4 and 6 forms) must be an IP
// address: the resolver would run on other threads, in the caller's
// namespace.
func (ns *NS) Dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	if err := ns.checkLiteral("dial", network, addr); err != nil {
		return nil, err
	}
	var c net.Conn
	err := ns.Run(func() error {
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens on addr with lc (nil: a zero net.ListenConfig), on a
// socket created inside the namespace. As for Dial, the host of an IP
// network must be an IP address or empty.
func (ns *NS) Listen(ctx context.Context, lc *net.ListenConfig, network, addr string) (net.Listener, error) {
	if lc == nil {
		lc = &net.ListenConfig{}
	}
	if err := ns.checkLiteral("listen", network, addr); err != nil {
		return nil, err
	}
	var l net.Listener
	err := ns.Run(func() error {
		var err error
		l, err = lc.Listen(ctx, network, addr)
		return err
	})
	return l, err
}

// NetlinkSocket opens a netlink socket of protocol proto (unix.NETLINK_ROUTE,
// …) inside the namespace, binds it (the kernel picks the port id) and
// returns its descriptor, close-on-exec and blocking. The caller owns it.
func (ns *NS) NetlinkSocket(proto int) (int, error) {
	fd := -1
	err := ns.Run(func() error {
		s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("netlink socket%s: %w", ns.in(), err)
		}
		if err := unix.Bind(s, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			unix.Close(s)
			return fmt.Errorf("binding netlink socket%s: %w", ns.in(), err)
		}
		fd = s
		return nil
	})
	return fd, err
}

// in is " in NAME" for errors, or "" for the caller's namespace.
func (ns *NS) in() string {
	if ns == nil {
		return ""
	}
	return " in network namespace " + ns.name
}

// checkLiteral refuses a host name for an IP network inside a namespace.
func (ns *NS) checkLiteral(op, network, addr string) error {
	if ns == nil {
		return nil
	}
	host := addr
	switch {
	case strings.HasPrefix(network, "tcp"), strings.HasPrefix(network, "udp"):
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil // the net package reports it
		}
		host = h
	case strings.HasPrefix(network, "ip"):
	default:
		return nil
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%s %s %s%s: host must be an IP address (names would be resolved outside the namespace)", op, network, addr, ns.in())
	}
	return nil
}

// Run runs fn inside the network namespace at path ("" for the caller's,
// on the calling goroutine); see NS.Run.
func Run(path string, fn func() error) error {
	ns, err := Open(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	return ns.Run(fn)
}

// Dial connects from inside the network namespace at path ("" for the
// caller's); see NS.Dial. The namespace is open only until the dialling
// thread has entered it, not while the connection is under way: a
// program that dials in thousands of namespaces at once (a lab starting)
// holds a descriptor per connection, not two.
func Dial(ctx context.Context, path string, d *net.Dialer, network, addr string) (net.Conn, error) {
	if path == "" {
		return (*NS)(nil).Dial(ctx, d, network, addr)
	}
	if d == nil {
		d = &net.Dialer{}
	}
	if err := (&NS{name: path}).checkLiteral("dial", network, addr); err != nil {
		return nil, err
	}
	var c net.Conn
	err := Throwaway(func() error {
		ns, err := Open(path)
		if err != nil {
			return err
		}
		err = unix.Setns(ns.fd, unix.CLONE_NEWNET)
		ns.Close()
		if err != nil {
			return fmt.Errorf("entering network namespace %s: %w", path, err)
		}
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens inside the network namespace at path ("" for the
// caller's); see NS.Listen.
func Listen(ctx context.Context, path string, lc *net.ListenConfig, network, addr string) (net.Listener, error) {
	ns, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return ns.Listen(ctx, lc, network, addr)
}

// NetlinkSocket opens a bound netlink socket inside the network namespace
// at path ("" for the caller's); see NS.NetlinkSocket.
func NetlinkSocket(path string, proto int) (int, error) {
	ns, err := Open(path)
	if err != nil {
		return -1, err
	}
	defer ns.Close()
	return ns.NetlinkSocket(proto)
}
