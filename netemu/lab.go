package netemu

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
	"lab/topo"
)

// Errors that callers tell apart with errors.Is.
var (
	// ErrBadModel: the model cannot be built (invalid names, inconsistent
	// links); the message names the node or link and its position.
	ErrBadModel = errors.New("model cannot be built")
	// ErrRunning: a lab of that name is running (its daemon is alive).
	ErrRunning = errors.New("lab is already running")
	// ErrNamespaceExists: a namespace the lab needs is registered already,
	// and no lab's state file names it, so it is not ours to remove.
	ErrNamespaceExists = errors.New("namespace already exists")
	// ErrClosed: the lab has been torn down.
	ErrClosed = errors.New("lab is closed")
	// ErrNotInLab: a node, interface or link that is not part of the lab.
	ErrNotInLab = errors.New("not part of this lab")
)

// Options configure Build.
type Options struct {
	// RunDir is the state directory: "" means $LAB_RUN_DIR, else /run/lab.
	RunDir string
	// Socket is the daemon's control socket, recorded in the state file and
	// removed with the lab (by Close, or by Clean after a crash). Default
	// <RunDir>/<lab>.sock.
	Socket string
	// PID is the daemon recorded as the lab's owner; Clean removes the lab
	// only once that process is gone. Default: this process.
	PID int
	// Parallel is how many kernel operations run at once. The kernel
	// serializes most of them (RTNL), so more workers than CPUs only add
	// contention; default GOMAXPROCS, at most 4.
	Parallel int
	// Logger receives progress at debug level and cleanup of a dead lab of
	// the same name at info level; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called after each step of each build phase
	// ("namespaces", "bridges", "veths", ...) with the steps done and the
	// phase's total, from the phase's workers (concurrently).
	Progress func(phase string, done, total int)
}

func (o Options) withDefaults(m *topo.Lab) Options {
	o.RunDir = ResolveRunDir(o.RunDir)
	if o.Socket == "" {
		o.Socket = filepath.Join(o.RunDir, m.Name+".sock")
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Parallel <= 0 {
		o.Parallel = min(runtime.GOMAXPROCS(0), 4)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Lab is a built lab: its namespaces, devices and state file. Its methods
// are safe for concurrent use.
type Lab struct {
	model *topo.Lab
	opts  Options
	plan  *plan
	state State // as written to statePath

	// statePath is set once the state file exists; teardown removes it.
	// Written by Build before any other goroutine sees the Lab.
	statePath string

	// mu guards closed and the namespaces' fds: operations hold it for
	// reading while they use them (and the sockets they open through
	// them, rtnl.go), Close for writing while it releases them.
	mu     sync.RWMutex
	closed bool
	// linkMu serializes link operations, so that the blackhole table of a
	// namespace is never edited by two transactions at once, nor an AS's
	// underlay recomputed by two at once.
	linkMu sync.Mutex

	// under is the underlay of the ASes of several routers (underlay.go).
	under *underlay
}

// Model returns the model the lab was built from.
func (l *Lab) Model() *topo.Lab { return l.model }

// State returns what the lab's state file records; Path is "" and Alive
// false once the lab is closed.
func (l *Lab) State() State {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := l.state
	st.Namespaces = append([]string(nil), st.Namespaces...)
	st.Path = l.statePath
	st.Alive = !l.closed
	return st
}

// NamespacePath returns the registered path of node's namespace,
// /run/netns/<lab>-<node>, or "" when the lab has no such node.
func (l *Lab) NamespacePath(node string) string {
	n := l.plan.byName[node]
	if n == nil {
		return ""
	}
	return filepath.Join(netnsDir, n.ns)
}

// Do runs fn on an OS thread locked into node's namespace: sockets fn
// opens belong to the node, and fn's netlink requests and /proc/sys/net
// accesses act on the node's network stack. fn must not start goroutines
// that expect to be in the namespace (they are not). The thread runs
// nothing else and ends with fn (internal/nsthread).
func (l *Lab) Do(node string, fn func() error) error {
	n := l.plan.byName[node]
	if n == nil {
		return fmt.Errorf("node %q: %w", node, ErrNotInLab)
	}
	// A descriptor of our own, so that Close may close the node's while
	// fn runs.
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return fmt.Errorf("%s: %w", node, ErrClosed)
	}
	fd, err := unix.FcntlInt(uintptr(n.fd), unix.F_DUPFD_CLOEXEC, 0)
	l.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("%s: namespace %s: %w", node, n.ns, err)
	}
	ns := nsthread.FromFd(fd, n.ns)
	defer ns.Close()
	return ns.Run(fn)
}

// Close tears the lab down: it ends every process running in the lab's
// namespaces (SIGTERM, then SIGKILL), removes the namespaces'
// registrations (each namespace, with its veths, bridges and routes, is
// destroyed by the kernel once nothing refers to it: close every socket
// opened with Do before Close), the lab's directory (Dir), the control
// socket and, last, the state file. Calling it again returns nil.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.teardown()
}

// teardown removes everything the lab created, as far as it got. It runs
// alone: from Close with mu held, or from a failed Build before the Lab is
// returned.
func (l *Lab) teardown() error {
	ids := map[nsID]bool{}
	for _, n := range l.plan.nodes {
		if n.fd >= 0 {
			ids[n.id] = true
		}
	}
	var errs []error
	if _, err := killIn(ids); err != nil {
		errs = append(errs, err)
	}
	for _, n := range l.plan.nodes {
		if n.nl != nil { // a failed build's
			n.nl.close()
			n.nl = nil
		}
		if n.fd >= 0 {
			unix.Close(n.fd)
			n.fd = -1
		}
	}
	removed := true
	for _, n := range l.plan.nodes {
		if !n.registered {
			continue
		}
		if err := unregisterNS(n.ns); err != nil {
			errs = append(errs, err)
			removed = false
			continue
		}
		n.registered = false
	}
	// A process may have entered a namespace through its path between the
	// first scan and the unmount.
	if _, err := killIn(ids); err != nil {
		errs = append(errs, err)
	}
	if removed {
		// The lab's files go once nothing runs in its namespaces; when
		// they cannot, the state file stays, for Clean to finish.
		if err := l.removeDir(); err != nil {
			errs = append(errs, err)
			removed = false
		}
	}
	if l.statePath != "" && removed {
		removeSocket(l.opts.Socket)
		if err := os.Remove(l.statePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing lab state: %w", err))
		} else {
			l.statePath = ""
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tearing down lab %s: %w", l.model.Name, err)
	}
	return nil
}

// removeSocket removes path if it is a unix socket (and only then: the
// path comes from a state file).
func removeSocket(path string) {
	if path == "" {
		return
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		os.Remove(path)
	}
}
