// Package testrun makes a package's test binary a recorded test run, so
// that nothing it creates outlives it: not when a test fails, not when
// the binary gets SIGINT or SIGTERM (Ctrl-C in `make test`), and not when
// it is killed outright.
//
// A package whose tests create namespaces, start processes or build labs
// calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { testrun.Main(m) }
//
// Main claims a state file <RunDir>/<run>.json (the format and the
// directory of the labs' state files, netemu.State with Kind "test"),
// owned by the test binary's pid, and then:
//
//   - points $TMPDIR at the run's directory <RunDir>/<run>.d, so that
//     t.TempDir() and os.MkdirTemp("", …) (configurations, logs, sockets,
//     the state directories of the labs the tests build) are the run's;
//   - adds the run's name to $LAB_OWNER (netemu.OwnerEnv), so that every
//     process the tests start, and every process those start, carries it;
//   - on SIGINT or SIGTERM, runs the cleanups registered with Cleanup (and
//     by the helpers below), newest first, then removes whatever the run's
//     state file still names, and dies of the signal;
//   - at the end, removes the state file, and fails the run if the tests
//     left anything it names (a leak is a bug of the test).
//
// When the binary is killed (SIGKILL, a runner's timeout), its state file
// stays and `lab clean` removes what it names: the processes it recorded
// or marked, those running in its namespaces, the labs in its directory,
// the namespaces, the directory, then the file. `make test` starts with
// `lab clean`.
//
// Names: every namespace and lab of a run starts with the run's name
// ("tr" and six hex digits) and a dash: Name gives lab names, Namespace
// records a namespace before its creation, Start records a process as it
// starts. Go's testing package runs t.Cleanup functions only when a test
// ends normally; Cleanup registers a function that also runs on a signal,
// exactly once either way.
package testrun

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lab/netemu"
)

// cleanupDeadline is how long the cleanups may take after a signal before
// the run's state file is used to remove what they have not; a second
// signal cuts it short.
const cleanupDeadline = time.Minute

// stopGrace is how long Process.Stop waits after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// The run. name is set once by Main before any test runs and never
// changes; the rest is guarded by mu.
var (
	name string

	mu sync.Mutex
	// rec is the run's state file; nil when Main could not claim one (not
	// root) or was not called.
	rec *netemu.Record
	// entries are the registered cleanups, oldest first.
	entries []*entry
	// stopping is set when the cleanups are taken over (a signal, or the
	// end of the run): helpers that create things refuse from then on.
	stopping bool
	// seq numbers the names Name gives.
	seq int
)

// entry is a registered cleanup; it runs once, from t.Cleanup or from the
// signal handler, whichever comes first (the other waits for it).
type entry struct {
	once sync.Once
	fn   func()
}

// run runs the cleanup on the calling goroutine (the test's, from
// t.Cleanup, so t.FailNow works as usual).
func (e *entry) run() { e.once.Do(e.fn) }

// runAside runs the cleanup on a goroutine of its own and waits for it: a
// cleanup that calls t.FailNow (runtime.Goexit) or panics must not end
// the signal handler.
func (e *entry) runAside() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "testrun: a cleanup panicked: %v\n", p)
			}
		}()
		e.once.Do(e.fn)
	}()
	<-done
}

// Main runs the package's tests as a recorded test run and exits with
// their status; call it from TestMain. Without root it only runs them
// (they skip what needs root; Namespace, Start and TempDir skip too).
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	b := make([]byte, 3)
	rand.Read(b)
	name = "tr" + hex.EncodeToString(b)
	if os.Geteuid() != 0 {
		return m.Run()
	}
	prog := filepath.Base(os.Args[0])
	r, err := netemu.ClaimRecord("", netemu.State{Name: name, Kind: netemu.KindTest, Program: prog, Marked: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testrun: claiming the run's state file: %v\n", err)
		return 1
	}
	dir, err := r.Dir()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testrun: %v\n", err)
		r.Release()
		return 1
	}
	// t.TempDir uses $GOTMPDIR when set, else os.TempDir ($TMPDIR). tmux
	// puts its sockets in $TMUX_TMPDIR.
	os.Setenv("TMPDIR", dir)
	os.Setenv("TMUX_TMPDIR", dir)
	if os.Getenv("GOTMPDIR") != "" {
		os.Setenv("GOTMPDIR", dir)
	}
	os.Setenv(netemu.OwnerEnv, strings.TrimSpace(os.Getenv(netemu.OwnerEnv)+" "+name))
	mu.Lock()
	rec = r
	mu.Unlock()

	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	go handleSignals(sigc)

	code := m.Run()
	if finish(false) && code == 0 {
		code = 1
	}
	return code
}

// finishOnce makes the end of the run happen once, from the signal
// handler or from Main.
var (
	finishOnce sync.Once
	leaked     bool
)

// finish takes the cleanups over, runs those not run yet (newest first;
// after a signal with a deadline), then removes whatever the run's state
// file still names, and the file. It reports whether anything was left
// for that last step.
func finish(interrupted bool) bool {
	finishOnce.Do(func() {
		mu.Lock()
		stopping = true
		list := entries
		r := rec
		mu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := len(list) - 1; i >= 0; i-- {
				list[i].runAside()
			}
		}()
		if interrupted {
			select {
			case <-done:
			case <-time.After(cleanupDeadline):
				fmt.Fprintf(os.Stderr, "testrun: cleanups still running after %v: removing what the run's state file names\n", cleanupDeadline)
			}
		} else {
			<-done
		}
		rep, err := r.Release()
		// rep.Labs names the run itself once its state file is removed.
		if len(rep.Labs) > 1 || len(rep.Namespaces) > 0 || len(rep.Processes) > 0 {
			leaked = true
			what := "the tests left these behind (a test does not remove what it made)"
			if interrupted {
				what = "removed after the cleanups"
			}
			fmt.Fprintf(os.Stderr, "testrun: %s:\n%s\n", what, rep)
		}
		if err != nil {
			leaked = true
			fmt.Fprintf(os.Stderr, "testrun: %v\n(`lab clean` removes the rest once this process is gone)\n", err)
		}
	})
	return leaked
}

// handleSignals runs the cleanups on the first SIGINT or SIGTERM and then
// dies of that signal, as the binary would have without the handler (the
// go command and make then report the interruption as such); a second
// signal exits at once, leaving the rest to `lab clean`.
func handleSignals(sigc chan os.Signal) {
	sig := <-sigc
	fmt.Fprintf(os.Stderr, "\ntestrun: %v: cleaning up test run %s before exiting (again to exit now)\n", sig, name)
	go func() {
		s := <-sigc
		fmt.Fprintf(os.Stderr, "testrun: %v again: exiting; `lab clean` removes what is left of test run %s\n", s, name)
		os.Exit(1)
	}()
	finish(true)
	signal.Reset(sig)
	// To this thread, so that it is delivered before Tgkill returns, not
	// to another thread while this one goes on to exit.
	runtime.LockOSThread()
	syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig.(syscall.Signal))
	// Only reached when the signal was ignored when the binary started.
	time.Sleep(time.Second)
	os.Exit(1)
}

// record returns the run's state file, skipping the test when there is
// none because the binary does not run as root, and failing it when the
// package's TestMain does not call Main. It blocks forever once the run
// is being cleaned up after a signal: the binary is about to exit, and
// nothing new may be created behind the cleanup's back.
func record(t testing.TB) *netemu.Record {
	t.Helper()
	if name == "" {
		t.Fatal("testrun: this package's TestMain must call testrun.Main (see lab/internal/testrun)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces and processes")
	}
	mu.Lock()
	r, stop := rec, stopping
	mu.Unlock()
	if r == nil {
		t.Fatal("testrun: the run has no state file")
	}
	if stop {
		select {}
	}
	return r
}

// Cleanup registers fn to run when t ends, like t.Cleanup, and also when
// the binary gets SIGINT or SIGTERM before that; it runs once. Register
// the removal of everything a test creates in the kernel or starts with
// it. Registered after the run's cleanup began, fn runs at once.
func Cleanup(t testing.TB, fn func()) {
	t.Helper()
	e := &entry{fn: fn}
	mu.Lock()
	if stopping {
		mu.Unlock()
		e.run()
		return
	}
	entries = append(entries, e)
	mu.Unlock()
	t.Cleanup(e.run)
}

// Name returns a name unique to the run for a lab (or for a group of
// namespaces): "<run>-<n>". A lab so named has namespaces named like the
// run's, "<run>-<n>-<node>". It needs no root.
func Name(t testing.TB) string {
	t.Helper()
	if name == "" {
		t.Fatal("testrun: this package's TestMain must call testrun.Main (see lab/internal/testrun)")
	}
	mu.Lock()
	defer mu.Unlock()
	seq++
	return name + "-" + strconv.Itoa(seq)
}

// Run returns the run's name, "" before Main.
func Run() string { return name }

// Namespace records the namespace /run/netns/ns in the run's state file,
// before the caller creates it, and registers its removal (the processes
// in it ended, then its registration removed; afterwards is fine if the
// caller removed it already). ns must start with a name from Name and a
// dash, and must not exist yet. It returns the namespace's path.
func Namespace(t testing.TB, ns string) string {
	t.Helper()
	r := record(t)
	if err := r.AddNamespace(ns); err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	Cleanup(t, func() {
		if err := r.RemoveNamespace(ns); err != nil {
			t.Errorf("removing namespace %s: %v", ns, err)
		}
	})
	return filepath.Join("/run/netns", ns)
}

// TempDir returns a new directory in the run's directory, removed when t
// ends. Its path is shorter than t.TempDir's (which is in the run's
// directory too, under the test's name), for unix sockets.
func TempDir(t testing.TB) string {
	t.Helper()
	r := record(t)
	parent, err := r.Dir()
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.MkdirTemp(parent, "d")
	if err != nil {
		t.Fatal(err)
	}
	Cleanup(t, func() { os.RemoveAll(d) })
	return d
}

// Process is a process started by Start.
type Process struct {
	// Cmd is the command; Start waits for it, the caller must not.
	Cmd  *exec.Cmd
	name string
	// group: the process leads a process group of its own, which Stop
	// signals as a whole.
	group bool
	done  chan struct{}
	// err is Wait's result, set before done is closed.
	err error
}

// Start starts cmd, recorded in the run's state file with its start time
// (so that `lab clean` ends it, and only it, if the binary is killed) and
// marked through its environment ($LAB_OWNER is added to cmd.Env when the
// caller set one). Unless cmd.SysProcAttr says otherwise, the process gets
// a process group of its own, so that Stop also ends its children. Stop is
// registered with Cleanup. name says what it runs.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	r := record(t)
	if cmd.Env != nil {
		cmd.Env = append(cmd.Env, netemu.OwnerEnv+"="+os.Getenv(netemu.OwnerEnv))
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	p := &Process{Cmd: cmd, name: name, group: cmd.SysProcAttr.Setpgid || cmd.SysProcAttr.Setsid, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	// Recorded right after it started: until then, the mark and (for a
	// process in a namespace of the run) the namespace find it.
	if err := r.AddProcess(cmd.Process.Pid, name); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("recording %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	Cleanup(t, p.Stop)
	return p
}

// Done is closed when the process has exited (and been waited for).
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error (exec.Cmd.Wait's); valid once Done is
// closed.
func (p *Process) Err() error { return p.err }

// Exited returns an error saying how the process ended once it has, and
// nil while it runs.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return fmt.Errorf("%s exited", p.name)
		}
		return fmt.Errorf("%s exited: %w", p.name, p.err)
	default:
		return nil
	}
}

// Stop ends the process, and its process group when it has one: SIGTERM,
// then SIGKILL after stopGrace; it returns once the process is waited for.
// Calling it again, or after the process exited, does nothing.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	pid := p.Cmd.Process.Pid
	send := func(sig syscall.Signal) {
		if p.group {
			// The whole group: its children too. The kernel does not give
			// the group's id to another process while the group has
			// members, the leader included until it is waited for.
			syscall.Kill(-pid, sig)
			return
		}
		p.Cmd.Process.Signal(sig)
	}
	send(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		send(syscall.SIGKILL)
		<-p.done
	}
}
