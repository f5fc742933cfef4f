package nsthread

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
}

// nsInode returns the inode of the network namespace at path.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// newNS creates an unregistered namespace holding an interface called
// dev, and returns it; it goes away with the NS's descriptor, closed
// by the test's cleanup. Its path, for the path-taking functions, is
// /proc/self/fd/N.
func newNS(t testing.TB, dev string) *NS {
	t.Helper()
	needRoot(t)
	fd := -1
	err := Throwaway(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
		// A veth pair with both ends inside (this kernel has no dummy).
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: dev}, PeerName: dev + "p"}); err != nil {
			return err
		}
		var err error
		fd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	ns := FromFd(fd, "test")
	t.Cleanup(func() { ns.Close() })
	return ns
}

func pathOf(ns *NS) string { return fmt.Sprintf("/proc/self/fd/%d", ns.Fd()) }

// TestRun runs a function inside a namespace, by handle and by path: it
// sees the namespace's interfaces, and the caller's thread stays where it
// was.
func TestRun(t *testing.T) {
	ns := newNS(t, "nst-run0")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	home := nsInode(t, "/proc/thread-self/ns/net")
	if _, err := net.InterfaceByName("nst-run0"); err == nil {
		t.Fatal("the test namespace's interface is visible outside it")
	}
	inside := func() error {
		if _, err := net.InterfaceByName("nst-run0"); err != nil {
			return fmt.Errorf("inside: %w", err)
		}
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			return err
		}
		if st.Ino == home {
			return errors.New("inside: the thread is in the caller's namespace")
		}
		return nil
	}
	if err := ns.Run(inside); err != nil {
		t.Errorf("NS.Run: %v", err)
	}
	if err := Run(pathOf(ns), inside); err != nil {
		t.Errorf("Run(path): %v", err)
	}
	if got := nsInode(t, "/proc/thread-self/ns/net"); got != home {
		t.Errorf("caller's thread moved to namespace %d from %d", got, home)
	}
	// fn's own error comes back as it is.
	errFn := errors.New("fn failed")
	if err := ns.Run(func() error { return errFn }); err != errFn {
		t.Errorf("Run = %v, want fn's error", err)
	}
}

// TestCallerNamespace: a nil NS and an empty path run on the calling
// goroutine, in its namespace.
func TestCallerNamespace(t *testing.T) {
	ns, err := Open("")
	if ns != nil || err != nil {
		t.Fatalf(`Open("") = %v, %v; want nil, nil`, ns, err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	for _, run := range []func(func() error) error{ns.Run, func(fn func() error) error { return Run("", fn) }} {
		var got int
		if err := run(func() error { got = unix.Gettid(); return nil }); err != nil {
			t.Fatal(err)
		}
		if got != tid {
			t.Errorf("ran on thread %d, want the caller's %d", got, tid)
		}
	}
	if err := ns.Close(); err != nil {
		t.Errorf("closing a nil NS: %v", err)
	}
}

// TestThrowawayNeverLeaks changes the namespace of many throwaway threads
// and leaves it changed: no thread of the scheduler, and not the main
// thread (which the runtime cannot end), may be left in one.
func TestThrowawayNeverLeaks(t *testing.T) {
	needRoot(t)
	home := nsInode(t, "/proc/self/ns/net")
	for i := 0; i < 200; i++ {
		err := Throwaway(func() error { return unix.Unshare(unix.CLONE_NEWNET) })
		if err != nil {
			t.Fatal(err)
		}
	}
	// /proc/self is the main thread.
	if got := nsInode(t, "/proc/self/ns/net"); got != home {
		t.Errorf("the main thread was left in namespace %d (home %d)", got, home)
	}
	// The other threads: a throwaway thread may still be on its way out
	// when Throwaway returns (its goroutine has sent fn's result, not yet
	// exited), but it must go.
	deadline := time.Now().Add(5 * time.Second)
	for {
		away := awayThreads(t, home)
		if len(away) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads left outside namespace %d: %v (pid %d)", home, away, os.Getpid())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awayThreads lists the process's threads that are not in namespace home,
// as "tid:inode".
func awayThreads(t *testing.T, home uint64) []string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var away []string
	for _, task := range tasks {
		var st unix.Stat_t
		if err := unix.Stat("/proc/self/task/"+task.Name()+"/ns/net", &st); err != nil {
			continue // the thread ended meanwhile
		}
		if st.Ino != home {
			away = append(away, fmt.Sprintf("%s:%d", task.Name(), st.Ino))
		}
	}
	return away
}

// loopbackListener brings ns's loopback up and listens on 127.0.0.1
// there, until the test ends.
func loopbackListener(t *testing.T, ns *NS) net.Listener {
	t.Helper()
	if err := ns.Run(func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	}); err != nil {
		t.Fatal(err)
	}
	l, err := ns.Listen(context.Background(), nil, "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestSockets dials and listens inside a namespace: the listener's socket
// belongs to it (its loopback is not the caller's), and a netlink socket
// opened there lists the namespace's interfaces.
func TestSockets(t *testing.T) {
	ns := newNS(t, "nst-sock0")
	ctx := context.Background()
	l := loopbackListener(t, ns)
	addr := l.Addr().String()
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	// The caller's loopback has no such listener (the port is the
	// namespace's); inside, the dial reaches it.
	if c, err := (&net.Dialer{}).DialContext(ctx, "tcp4", addr); err == nil {
		c.Close()
		t.Errorf("dialled %s from the caller's namespace: the listener is not in the test namespace", addr)
	}
	c, err := Dial(ctx, pathOf(ns), nil, "tcp4", addr)
	if err != nil {
		t.Fatalf("Dial inside: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Errorf("read %q, %v; want hi", buf, err)
	}
	c.Close()

	fd, err := ns.NetlinkSocket(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if !dumpHasLink(t, fd, "nst-sock0") {
		t.Error("the netlink socket does not list the namespace's interface")
	}
}

// dumpHasLink dumps the links over the netlink socket fd and reports
// whether one is called name.
func dumpHasLink(t *testing.T, fd int, name string) bool {
	t.Helper()
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETLINK)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	found := false
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return found
			case unix.NLMSG_ERROR:
				t.Fatal("link dump failed")
			}
			attrs, err := syscall.ParseNetlinkRouteAttr(&m)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range attrs {
				if a.Attr.Type == unix.IFLA_IFNAME && strings.TrimRight(string(a.Value), "\x00") == name {
					found = true
				}
			}
		}
	}
}

// TestErrors: every error of getting into a namespace names it.
func TestErrors(t *testing.T) {
	needRoot(t)
	missing := "/run/netns/nsthread-test-missing"
	if _, err := Open(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open(missing) = %v, want an error naming %s", err, missing)
	}
	if err := Run(missing, func() error { return nil }); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Run(missing) = %v, want an error naming %s", err, missing)
	}
	// A file that is not a namespace (an unmounted registration is an
	// empty file).
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(plain); err == nil || !strings.Contains(err.Error(), plain) {
		t.Errorf("Open(plain file) = %v, want an error naming %s", err, plain)
	}
	// setns refuses it too, for an NS made from a descriptor.
	fd, err := unix.Open(plain, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := FromFd(fd, "bad-ns")
	defer bad.Close()
	ran := false
	err = bad.Run(func() error { ran = true; return nil })
	if err == nil || !strings.Contains(err.Error(), "bad-ns") || ran {
		t.Errorf("Run in a non-namespace = %v (fn ran: %v), want an error naming bad-ns", err, ran)
	}
	if _, err := bad.NetlinkSocket(unix.NETLINK_ROUTE); err == nil || !strings.Contains(err.Error(), "bad-ns") {
		t.Errorf("NetlinkSocket in a non-namespace = %v, want an error naming bad-ns", err)
	}
	// A host name inside a namespace is refused, naming it.
	ns := newNS(t, "nst-err0")
	_, err = ns.Dial(context.Background(), nil, "tcp", "localhost:179")
	if err == nil || !strings.Contains(err.Error(), "test") || !strings.Contains(err.Error(), "IP address") {
		t.Errorf("Dial(localhost) = %v, want a refusal naming the namespace", err)
	}
	if _, err := ns.Listen(context.Background(), nil, "tcp", "localhost:0"); err == nil {
		t.Error("Listen(localhost) inside a namespace succeeded")
	}
}

// BenchmarkRun measures entering a namespace on a throwaway thread: the
// thread's creation and end, and setns.
func BenchmarkRun(b *testing.B) {
	ns := newNS(b, "nst-bench0")
	for b.Loop() {
		if err := ns.Run(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDialReleasesNamespace: Dial by path holds no descriptor on the
// namespace while the connection is under way. The dialer's Control runs
// once the socket exists, before it connects: then only the test's own
// descriptor on the namespace is open.
func TestDialReleasesNamespace(t *testing.T) {
	ns := newNS(t, "nst-rel0")
	ctx := context.Background()
	l := loopbackListener(t, ns)
	target, err := os.Readlink(pathOf(ns))
	if err != nil {
		t.Fatal(err)
	}
	open := -1
	d := &net.Dialer{Control: func(string, string, syscall.RawConn) error {
		open = 0
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return err
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && link == target {
				open++
			}
		}
		return nil
	}}
	c, err := Dial(ctx, pathOf(ns), d, "tcp4", l.Addr().String())
	if err != nil {
		t.Fatalf("Dial inside: %v", err)
	}
	c.Close()
	if open != 1 {
		t.Errorf("%d descriptors on the namespace while the connection was under way, want 1 (the test's)", open)
	}
}
