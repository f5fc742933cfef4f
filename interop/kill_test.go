package interop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lab/internal/testrun"
	"lab/netemu"
)

// TestKilledRunLeavesNothing runs this package's binary on TestGoBGP as a
// test run of its own (its state file in a directory of this test), waits
// until gobgpd runs in the run's lab, and ends the binary in the middle of
// the daemon's life: with SIGKILL, after which gobgpd and the namespaces
// are still there and `lab clean` must remove every namespace, process
// and file of the run; with SIGINT, after which the binary must have
// removed them itself, before dying of the signal.
func TestKilledRunLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and runs BGP daemons in them")
	}
	needBinary(t, "gobgpd", "gobgp")
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) { killRun(t, sig) })
	}
}

func killRun(t *testing.T, sig syscall.Signal) {
	// The child's state directory: short, for the unix sockets the child
	// makes under it. Its output goes elsewhere: dir must end up empty.
	dir := testrun.TempDir(t)
	out := filepath.Join(t.TempDir(), "child.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestGoBGP$", "-test.v")
	cmd.Env = append(os.Environ(), netemu.RunDirEnv+"="+dir)
	cmd.Stdout, cmd.Stderr = f, f
	child := testrun.Start(t, "interop.test", cmd)

	var run netemu.State
	var gobgpd netemu.Process
	poll(t, time.Minute, "gobgpd running in the child's lab", func() (bool, string) {
		if err := child.Exited(); err != nil {
			t.Fatalf("the child: %v\n%s", err, tail(out, 40))
		}
		sts, err := netemu.ReadStates(dir)
		if err != nil || len(sts) != 1 {
			return false, fmt.Sprintf("state files %v, %v", sts, err)
		}
		run = sts[0]
		for _, p := range run.Processes {
			if p.Name == "gobgpd" && p.Running() {
				gobgpd = p
				return len(namespacesOf(run.Name)) >= 2, "the lab's namespaces not there yet"
			}
		}
		return false, "gobgpd not recorded yet"
	})
	if run.Kind != netemu.KindTest || run.PID != cmd.Process.Pid || !run.Marked {
		t.Fatalf("the child's state file: %+v", run)
	}

	if err := syscall.Kill(cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child.Done():
	case <-time.After(2 * time.Minute):
		t.Fatalf("the child did not exit on %v:\n%s", sig, tail(out, 40))
	}
	var ee *exec.ExitError
	if !errors.As(child.Err(), &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != sig {
		t.Errorf("the child ended with %v, want killed by %v", child.Err(), sig)
	}

	if sig == syscall.SIGKILL {
		// What the issue saw: the daemon and the namespaces outlive the
		// test binary.
		if !gobgpd.Running() || len(namespacesOf(run.Name)) == 0 {
			t.Fatalf("gobgpd running %v, namespaces %v: the test needs them left behind", gobgpd.Running(), namespacesOf(run.Name))
		}
		c := exec.Command(labBinary(t), "clean")
		c.Env = append(os.Environ(), netemu.RunDirEnv+"="+dir)
		rep, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("lab clean: %v\n%s", err, rep)
		}
		t.Logf("lab clean:\n%s", rep)
		for _, want := range []string{
			"Removed test run " + run.Name + " (interop.test, pid " + strconv.Itoa(run.PID) + ")",
			"Removed lab " + run.Name + "-1: 2 namespaces",
		} {
			if !bytes.Contains(rep, []byte(want)) {
				t.Errorf("lab clean's report lacks %q:\n%s", want, rep)
			}
		}
	} else if b, _ := os.ReadFile(out); !bytes.Contains(b, []byte("testrun: interrupt: cleaning up test run "+run.Name)) {
		t.Errorf("the child did not say it cleaned up:\n%s", tail(out, 40))
	} else {
		t.Logf("the child's output ends:\n%s", tail(out, 8))
	}

	// Nothing of the run: its processes (recorded or marked), its
	// namespaces (as `ip netns list` shows them), its files.
	for _, p := range run.Processes {
		if p.Running() {
			t.Errorf("process %d (%s) of the run still runs", p.PID, p.Name)
		}
	}
	if pids := markedBy(run.Name); len(pids) > 0 {
		t.Errorf("processes carrying the run's mark still run: %v", pids)
	}
	if ns := namespacesOf(run.Name); len(ns) > 0 {
		t.Errorf("namespaces of the run left: %v", ns)
	}
	list, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(list), "\n") {
		if strings.HasPrefix(line, run.Name+"-") {
			t.Errorf("ip netns list: %s", line)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in the run's state directory: %s", e.Name())
	}
}

// namespacesOf lists the registered namespaces named like run's.
func namespacesOf(run string) []string {
	ents, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), run+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// markedBy lists the live processes whose environment names run in
// $LAB_OWNER. A zombie's environment reads empty.
func markedBy(run string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(netemu.OwnerEnv+"=")); ok && slices.Contains(strings.Fields(string(v)), run) {
				out = append(out, pid)
			}
		}
	}
	return out
}

var (
	labBinOnce sync.Once
	labBin     string
	labBinErr  error
)

// labBinary is the lab binary: $LAB_BIN (`make test` sets it to the one
// `make build` made), else cmd/lab built once into the run's directory.
func labBinary(t *testing.T) string {
	t.Helper()
	labBinOnce.Do(func() {
		if p := os.Getenv("LAB_BIN"); p != "" {
			labBin, labBinErr = filepath.Abs(p)
			return
		}
		d, err := os.MkdirTemp("", "labbin")
		if err != nil {
			labBinErr = err
			return
		}
		labBin = filepath.Join(d, "lab")
		// go test puts its own go first in the tests' PATH.
		if out, err := exec.Command("go", "build", "-o", labBin, "lab/cmd/lab").CombinedOutput(); err != nil {
			labBinErr = fmt.Errorf("go build lab/cmd/lab: %v\n%s", err, out)
		}
	})
	if labBinErr != nil {
		t.Fatal(labBinErr)
	}
	return labBin
}
