package testrun

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lab/netemu"
)

func TestMain(m *testing.M) { Main(m) }

// TestEntryRunsOnce: a cleanup called from t.Cleanup and from the signal
// handler at the same time runs once, and one that ends its goroutine
// (t.FailNow) or panics does not end the handler's.
func TestEntryRunsOnce(t *testing.T) {
	var n atomic.Int32
	e := &entry{fn: func() {
		n.Add(1)
		runtime.Goexit()
	}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.runAside()
		}()
		go func() {
			defer wg.Done()
			e.run()
		}()
	}
	wg.Wait()
	if n.Load() != 1 {
		t.Errorf("ran %d times, want 1", n.Load())
	}
	p := &entry{fn: func() { panic("boom") }}
	p.runAside()
	p.runAside()
}

// childEnv makes TestChild run: it is the binary TestSignalRunsCleanups
// interrupts, and the variable names the file its cleanups append to.
const childEnv = "TESTRUN_TEST_CHILD_LOG"

// TestChild registers a cleanup in a subtest that ends (so it runs from
// t.Cleanup), then a cleanup, a recorded namespace and a recorded process
// in a test that never ends, says so, and waits for a signal.
func TestChild(t *testing.T) {
	logPath := os.Getenv(childEnv)
	if logPath == "" {
		t.Skip("run by TestSignalRunsCleanups")
	}
	logLine := func(s string) {
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			f.WriteString(s + "\n")
			f.Close()
		}
	}
	t.Run("ends", func(t *testing.T) { Cleanup(t, func() { logLine("ended") }) })
	Cleanup(t, func() { logLine("interrupted") })
	ns := Name(t) + "-x"
	Namespace(t, ns)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	p := Start(t, "sleep", exec.Command("sleep", "600"))
	os.Stdout.WriteString("ready " + ns + " " + strconv.Itoa(p.Cmd.Process.Pid) + "\n")
	select {}
}

// TestSignalRunsCleanups runs TestChild in a child binary, sends it
// SIGTERM, and checks that it ran each registered cleanup once, removed
// its namespace, its process, its files and its state file, and died of
// the signal.
func TestSignalRunsCleanups(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in the child")
	}
	runDir := TempDir(t)
	logPath := filepath.Join(t.TempDir(), "log")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestChild$")
	cmd.Env = append(os.Environ(), childEnv+"="+logPath, netemu.RunDirEnv+"="+runDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	child := Start(t, "child", cmd)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	var ns string
	var sleeper netemu.Process
	select {
	case l, ok := <-lines:
		f := strings.Fields(l)
		if !ok || len(f) != 3 {
			<-child.Done()
			t.Fatalf("the child did not get ready: %v\n%s", child.Err(), stderr.String())
		}
		ns = f[1]
		sts, err := netemu.ReadStates(runDir)
		if err != nil || len(sts) != 1 || len(sts[0].Processes) != 1 || !slices.Equal(sts[0].Namespaces, []string{ns}) {
			t.Fatalf("the child's state file: %+v, %v", sts, err)
		}
		sleeper = sts[0].Processes[0]
		if strconv.Itoa(sleeper.PID) != f[2] || !sleeper.Running() {
			t.Fatalf("recorded process %+v, the child started %s", sleeper, f[2])
		}
	case <-time.After(time.Minute):
		t.Fatalf("the child did not get ready:\n%s", stderr.String())
	}
	if _, err := os.Stat("/run/netns/" + ns); err != nil {
		t.Fatal(err)
	}

	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child.Done():
	case <-time.After(time.Minute):
		t.Fatalf("the child did not exit on SIGTERM:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(child.Err(), &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("the child ended with %v, want killed by SIGTERM\n%s", child.Err(), stderr.String())
	}
	b, _ := os.ReadFile(logPath)
	if got := string(b); got != "ended\ninterrupted\n" {
		t.Errorf("cleanups ran: %q, want each once", got)
	}
	if _, err := os.Lstat("/run/netns/" + ns); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s: %v, want it removed", ns, err)
	}
	if sleeper.Running() {
		t.Errorf("the recorded process %d still runs", sleeper.PID)
	}
	ents, _ := os.ReadDir(runDir)
	for _, e := range ents {
		t.Errorf("left in the child's state directory: %s", e.Name())
	}
}
