package netemu

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"lab/topo"
)

// run reaches lab/internal/testrun, which makes the test binary a
// recorded test run. This package's own tests cannot import it (it imports
// netemu); TestMain, in main_test.go (package netemu_test), can, and fills
// run in through SetTestRun before the tests start.
var run TestRun

// TestRun is what this package's tests use of lab/internal/testrun.
type TestRun struct {
	// Name is testrun.Name: lab names whose namespaces are named like the
	// run's.
	Name func(testing.TB) string
	// Cleanup is testrun.Cleanup: also run on SIGINT and SIGTERM.
	Cleanup func(testing.TB, func())
	// Namespace is testrun.Namespace: records a namespace the test is about
	// to create in the run's state file, and removes it at cleanup.
	Namespace func(testing.TB, string) string
}

// SetTestRun is for TestMain.
func SetTestRun(r TestRun) { run = r }

// ChildEnv and ChildMain are for TestMain: the binary re-executed by
// TestCleanAfterKill is a lab daemon, not a test run.
const ChildEnv = childEnv

// ChildMain is childMain, for TestMain.
func ChildMain() int { return childMain() }

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
}

// newLabName returns a lab name unique to this test run: namespaces are
// global on the machine, shared with other people's tests. Its namespaces
// are named like the test run's.
func newLabName(t testing.TB) string {
	t.Helper()
	return run.Name(t)
}

// buildLab builds m with a temporary state directory and registers its
// teardown. It also watches the lab so that the test can check that
// teardown leaves nothing. t.TempDir is in the test run's directory, so
// `lab clean` finds the lab's state file there if the binary is killed.
func buildLab(t testing.TB, m *topo.Lab) (*Lab, *watcher) {
	t.Helper()
	l, err := Build(context.Background(), m, Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	run.Cleanup(t, func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l, watch(t, l)
}

// poll calls f until it returns nil or the deadline passes, and fails the
// test with f's last error then.
func poll(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for convergence
	}
}

// ping sends one echo from node to addr with the system's ping(8) run
// inside the node's namespace; nil means a reply came back.
func ping(l *Lab, node, addr string) error {
	out, err := Command(l.NamespacePath(node), "ping", "-n", "-c1", "-W1", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s ping %s: %v: %s", node, addr, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// noPing checks that node gets no reply from addr in two tries.
func noPing(l *Lab, node, addr string) error {
	out, err := Command(l.NamespacePath(node), "ping", "-n", "-c2", "-i0.2", "-W1", addr).CombinedOutput()
	if err == nil {
		return fmt.Errorf("%s ping %s: got a reply: %s", node, addr, out)
	}
	return nil
}

// nodeHandle runs fn with a netlink handle inside node's namespace.
func nodeHandle(t testing.TB, l *Lab, node string, fn func(h *netlink.Handle) error) {
	t.Helper()
	err := l.Do(node, func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		return fn(h)
	})
	if err != nil {
		t.Fatalf("%s: %v", node, err)
	}
}

// watcher records a lab's namespaces and devices while it runs, so that
// after teardown the test can check that none of them is left, and that
// the kernel really destroyed each namespace.
type watcher struct {
	lab     string
	runDir  string
	ids     map[nsID]bool
	names   map[string]bool // the namespaces' names
	devs    map[string]bool // every device name of the lab
	nsids   map[int32]bool  // the namespaces' ids in our namespace
	mu      sync.Mutex
	deleted map[int32]bool // RTM_DELNSID seen
	sock    *nl.NetlinkSocket
}

// watch gives each of l's namespaces an nsid in the test's namespace and
// listens to RTM_DELNSID: the kernel sends it when it destroys a namespace
// (cleanup_net), which it does only when nothing refers to it any more: no
// mount, no process or thread, no open fd, no socket.
func watch(t testing.TB, l *Lab) *watcher {
	t.Helper()
	var fds []int
	for _, n := range l.plan.nodes {
		fds = append(fds, n.fd)
	}
	return watchNamespaces(t, l.model.Name, l.opts.RunDir, fds, l.plan)
}

// watchNamespaces is watch for namespaces known by their fds, and the
// plan of the lab they belong to (for device names).
func watchNamespaces(t testing.TB, lab, runDir string, fds []int, p *plan) *watcher {
	t.Helper()
	w := &watcher{
		lab:     lab,
		runDir:  runDir,
		ids:     map[nsID]bool{},
		names:   map[string]bool{},
		devs:    map[string]bool{},
		nsids:   map[int32]bool{},
		deleted: map[int32]bool{},
	}
	s, err := nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_NSID)
	if err != nil {
		t.Fatalf("subscribing to nsid events: %v", err)
	}
	w.sock = s
	t.Cleanup(func() { s.Close() })
	go func() {
		for {
			msgs, _, err := s.Receive()
			if err != nil {
				return
			}
			for _, m := range msgs {
				if m.Header.Type != unix.RTM_DELNSID || len(m.Data) < 4 {
					continue
				}
				attrs, err := nl.ParseRouteAttr(m.Data[4:]) // after struct rtgenmsg, padded
				if err != nil {
					continue
				}
				for _, a := range attrs {
					if a.Attr.Type == unix.NETNSA_NSID && len(a.Value) >= 4 {
						w.mu.Lock()
						w.deleted[int32(binary.NativeEndian.Uint32(a.Value))] = true
						w.mu.Unlock()
					}
				}
			}
		}
	}()
	for _, fd := range fds {
		id, err := nsIDOfFd(fd)
		if err != nil {
			t.Fatal(err)
		}
		w.ids[id] = true
		if err := netlink.SetNetNsIdByFd(fd, -1); err != nil && !errors.Is(err, unix.EEXIST) {
			t.Fatalf("%v: assigning an nsid: %v", id, err)
		}
		nsid, err := netlink.GetNetNsIdByFd(fd)
		if err != nil || nsid < 0 {
			t.Fatalf("%v: nsid %d: %v", id, nsid, err)
		}
		w.nsids[int32(nsid)] = true
	}
	for _, ns := range p.namespaces() {
		w.names[ns] = true
	}
	for _, v := range p.veths {
		w.devs[v.a.dev], w.devs[v.b.dev] = true, true
	}
	for _, b := range p.bridges {
		w.devs[b.name] = true
	}
	return w
}

// assertGone checks that nothing of the lab is left: no registration under
// /run/netns, no mount, no process or thread of ours in its namespaces, no
// state file, no device in our namespace, and every namespace destroyed by
// the kernel (with its veths and bridges), which it does asynchronously:
// that is polled with a deadline.
func (w *watcher) assertGone(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if w.names[e.Name()] {
			t.Errorf("%s/%s still registered", netnsDir, e.Name())
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], netnsDir+"/") && w.names[filepath.Base(f[4])] {
			t.Errorf("mount left: %s", line)
		}
	}
	pids, err := scanNamespaces(w.ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) > 0 {
		t.Errorf("processes still in the lab's namespaces: %v", pids)
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, tk := range tasks {
		var st unix.Stat_t
		if unix.Stat("/proc/self/task/"+tk.Name()+"/ns/net", &st) == nil && w.ids[nsID{st.Dev, st.Ino}] {
			t.Errorf("thread %s of the test is still in a lab namespace", tk.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(w.runDir, w.lab+".json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file: %v, want it removed", err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range links {
		if w.devs[k.Attrs().Name] {
			t.Errorf("device %s in the test's namespace", k.Attrs().Name)
		}
	}
	w.waitDestroyed(t, 60*time.Second)
}

// waitDestroyed waits until the kernel has destroyed every watched
// namespace.
func (w *watcher) waitDestroyed(t testing.TB, timeout time.Duration) {
	t.Helper()
	poll(t, timeout, "kernel destroying the lab's namespaces", func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		var alive []int32
		for id := range w.nsids {
			if !w.deleted[id] {
				alive = append(alive, id)
			}
		}
		if len(alive) > 0 {
			return fmt.Errorf("%d of %d namespaces not destroyed yet (nsids %v)", len(alive), len(w.nsids), alive)
		}
		return nil
	})
}

// childEnv makes the test binary a lab daemon for TestCleanAfterKill: it
// builds the seed lab named by the variable's value with the state
// directory in childRunDirEnv, starts a process in one of its namespaces,
// prints "ready <pid>" and waits to be killed.
const (
	childEnv       = "NETEMU_TEST_CHILD_LAB"
	childRunDirEnv = "NETEMU_TEST_CHILD_RUNDIR"
)

func childMain() int {
	l, err := Build(context.Background(), seedModel(os.Getenv(childEnv)), Options{RunDir: os.Getenv(childRunDirEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	cmd := Command(l.NamespacePath("h1"), "sleep", "600")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	// Start returns once the helper is executing; it enters the namespace
	// and becomes sleep a little later.
	h1, ok := nsIDOfPath(l.NamespacePath("h1"))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if id, _ := procNS(cmd.Process.Pid); ok && id == h1 {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "child: sleep never entered h1's namespace")
			return 1
		}
	}
	// A socket held open in a namespace, as a speaker holds its sessions'.
	if err := l.Do("as1ra", func() error {
		_, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
		return err
	}); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Printf("ready %d\n", cmd.Process.Pid)
	select {}
}

// readLine reads one line from r with a deadline.
func readLine(t *testing.T, r *bufio.Reader, timeout time.Duration) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		s, _ := r.ReadString('\n')
		ch <- s
	}()
	select {
	case s := <-ch:
		return strings.TrimSpace(s)
	case <-time.After(timeout):
		t.Fatalf("no line from the child after %v", timeout)
	}
	return ""
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// noSocketsIn fails the test if this process holds a socket that belongs
// to one of l's namespaces: the built lab holds none, and an operation
// closes the ones it opened (rtnl.go). A socket's namespace is what
// SIOCGSKNS opens.
func noSocketsIn(t testing.TB, l *Lab) {
	t.Helper()
	ids := map[nsID]string{}
	for _, n := range l.plan.nodes {
		id, err := nsIDOfFd(n.fd)
		if err != nil {
			t.Fatalf("%s: %v", n.ns, err)
		}
		ids[id] = n.ns
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:") {
			continue
		}
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// The descriptor may be another goroutine's, closed meanwhile:
		// an error is no finding.
		nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
		if err != nil {
			continue
		}
		id, err := nsIDOfFd(nsfd)
		unix.Close(nsfd)
		if err == nil && ids[id] != "" {
			t.Errorf("descriptor %d, %s, is a socket of namespace %s", fd, target, ids[id])
		}
	}
}
