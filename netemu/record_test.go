package netemu

import (
	"context"
	"errors"
	"fmt"
	"lab/internal/nsthread"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// sleeper starts `sleep 600` with $LAB_OWNER set to owner, and kills it
// at cleanup if it still runs.
func sleeper(t *testing.T, owner string) (pid int, start uint64) {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.Env = append(os.Environ(), OwnerEnv+"="+owner)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	run.Cleanup(t, func() {
		cmd.Process.Kill()
		<-done
	})
	return cmd.Process.Pid, mustStart(t, cmd.Process.Pid)
}

// TestCleanDeadRecord: Clean of a test run's state file whose owner is
// dead ends the processes it recorded (same pid and start time) and those
// carrying its mark, removes its namespaces and its directory with the
// labs' state files in it, and touches nothing else: not a process whose
// pid is recorded with another start time (a recycled pid), not one
// marked by another owner.
func TestCleanDeadRecord(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	name := newLabName(t)
	t.Cleanup(func() { Clean(dir) })

	marked, _ := sleeper(t, "outer "+name)
	recordedPid, recordedStart := sleeper(t, "nobody")
	recycled, recycledStart := sleeper(t, "nobody")
	other, _ := sleeper(t, "outer "+name+"x")

	// The run's owner, a test binary killed below.
	owner := exec.Command("sleep", "600")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	ownerStart := mustStart(t, owner.Process.Pid)

	ns := name + "-a"
	foreignNamespace(t, ns)
	// A lab the run built, with its state directory in the run's.
	sub := ownedDir(dir, name)
	lab, err := Build(context.Background(), seedModel(name+"-l"), Options{RunDir: filepath.Join(sub, "t1"), PID: owner.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	run.Cleanup(t, func() { lab.Close() })
	st := fmt.Sprintf(`{"name":%q,"kind":"test","program":"x.test","pid":%d,"pid_start":%d,"marked":true,
		"namespaces":[%q],"processes":[{"pid":%d,"start":%d},{"pid":%d,"start":%d}]}`,
		name, owner.Process.Pid, ownerStart, ns, recordedPid, recordedStart, recycled, recycledStart+1)
	if err := os.WriteFile(statePath(dir, name), []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not state files: they go with the directory, and are no error.
	os.WriteFile(filepath.Join(sub, "events.json"), []byte(`{"exabgp": "4.2"}`), 0o644)
	os.WriteFile(filepath.Join(sub, "t1", "broken.json"), []byte(`{`), 0o644)

	if rep, err := Clean(dir); err != nil || len(rep.Labs) != 0 {
		t.Fatalf("Clean with the owner alive: %v, %v; want nothing removed", rep, err)
	}
	owner.Process.Kill()
	owner.Wait()
	rep, err := Clean(dir)
	if err != nil {
		t.Fatalf("Clean: %v\n%s", err, rep)
	}
	slices.Sort(rep.Processes)
	want := []int{marked, recordedPid}
	slices.Sort(want)
	if !slices.Equal(rep.Processes, want) {
		t.Errorf("processes ended: %v, want %v (marked, recorded)", rep.Processes, want)
	}
	if got := rep.Labs; !slices.Equal(got, []string{name + "-l", name}) {
		t.Errorf("labs removed: %v, want the nested lab then the run", got)
	}
	if len(rep.Namespaces) != 1+len(lab.State().Namespaces) {
		t.Errorf("namespaces removed: %v", rep.Namespaces)
	}
	text := rep.String()
	for _, w := range []string{"Removed test run " + name + " (x.test, pid " + fmt.Sprint(owner.Process.Pid) + "): 1 namespace, 2 processes, " + sub, "Removed lab " + name + "-l: 8 namespaces"} {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
	for _, p := range []struct {
		pid   int
		alive bool
		what  string
	}{{marked, false, "marked"}, {recordedPid, false, "recorded"}, {recycled, true, "recorded with another start time"}, {other, true, "marked by another owner"}} {
		s, _, err := procStat(p.pid)
		if got := err == nil && s != 'Z'; got != p.alive {
			t.Errorf("process %s: alive = %v, want %v", p.what, got, p.alive)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		t.Errorf("left in the state directory: %s", e.Name())
	}
	if _, err := os.Lstat(filepath.Join(netnsDir, ns)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s: %v", ns, err)
	}
	for _, n := range lab.State().Namespaces {
		if _, err := os.Lstat(filepath.Join(netnsDir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s of the nested lab: %v", n, err)
		}
	}
}

// TestRecord: a Record grows as its owner creates things, refuses a
// namespace outside its name or one that exists, is left alone by Clean
// while its owner lives, and Release removes everything it names except
// its own process.
func TestRecord(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	name := newLabName(t)
	r, err := ClaimRecord(dir, State{Name: name, Kind: KindTest, Program: "p.test", Marked: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Release() })
	if _, err := ClaimRecord(dir, State{Name: name, Kind: KindTest}); !errors.Is(err, ErrRunning) {
		t.Errorf("second claim: %v, want ErrRunning", err)
	}
	if err := r.AddNamespace("elsewhere-x"); err == nil {
		t.Errorf("AddNamespace accepted a name outside %s-", name)
	}
	sub, err := r.Dir()
	if err != nil {
		t.Fatal(err)
	}
	ns := name + "-a"
	if err := r.AddNamespace(ns); err != nil {
		t.Fatal(err)
	}
	if err := nsthread.Throwaway(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
		return registerThreadNS(ns)
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNamespace(ns); err == nil || !errors.Is(err, ErrNamespaceExists) {
		t.Errorf("adding an existing namespace: %v, want ErrNamespaceExists", err)
	}
	pid, start := sleeper(t, "nobody")
	if err := r.AddProcess(pid, "sleep"); err != nil {
		t.Fatal(err)
	}
	markedPid, _ := sleeper(t, name)
	os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644)

	sts, err := ReadStates(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got State
	for _, s := range sts {
		if s.Name == name {
			got = s
		}
	}
	if !got.Alive || got.Kind != KindTest || got.PID != os.Getpid() || !slices.Equal(got.Namespaces, []string{ns}) ||
		len(got.Processes) != 1 || got.Processes[0] != (Process{PID: pid, Start: start, Name: "sleep"}) || got.Dir() != sub {
		t.Errorf("state file = %+v", got)
	}
	rep, err := Clean(dir)
	if err != nil || slices.Contains(rep.Labs, name) || !slices.Contains(rep.Running, name) {
		t.Errorf("Clean with the owner alive: %+v, %v; want the record left alone", rep, err)
	}
	if !strings.Contains(rep.String(), "Leaving test run "+name+" alone: its test binary p.test (pid "+fmt.Sprint(os.Getpid())+") is running") {
		t.Errorf("report: %s", rep)
	}

	rep, err = r.Release()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rep.Processes)
	want := []int{pid, markedPid}
	slices.Sort(want)
	if !slices.Equal(rep.Processes, want) || !slices.Equal(rep.Namespaces, []string{ns}) || !slices.Equal(rep.Labs, []string{name}) {
		t.Errorf("Release = %+v", rep)
	}
	for _, p := range []string{statePath(dir, name), sub, filepath.Join(netnsDir, ns)} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", p, err)
		}
	}
	if err := r.AddNamespace(name + "-b"); !errors.Is(err, ErrClosed) {
		t.Errorf("AddNamespace after Release: %v, want ErrClosed", err)
	}
}
