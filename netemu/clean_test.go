package netemu

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestCleanAfterKill builds a lab in a child process, SIGKILLs it, and
// checks that Clean removes everything the child left (namespaces,
// registrations, mounts, a process running in a node, the state file),
// and nothing else: a live lab in the same state directory and a
// namespace no state file names stay.
func TestCleanAfterKill(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	name := newLabName(t)
	// Runs last: whatever the test left of the killed child, even when it
	// failed half-way.
	t.Cleanup(func() { Clean(dir) })

	liveModel := lanModel(newLabName(t))
	live, err := Build(context.Background(), liveModel, Options{RunDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Close() })
	foreign := foreignNamespace(t, name+"-foreign")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, childRunDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	line := readLine(t, bufio.NewReader(out), 60*time.Second)
	pidStr, ok := strings.CutPrefix(line, "ready ")
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q; stderr:\n%s", line, stderr.String())
	}
	sleepPid := atoi(t, pidStr)
	t.Cleanup(func() { syscall.Kill(sleepPid, syscall.SIGKILL) })

	states, err := ReadStates(dir)
	if err != nil {
		t.Fatal(err)
	}
	var child State
	for _, st := range states {
		if st.Name == name {
			child = st
		}
	}
	if child.PID != cmd.Process.Pid || !child.Alive || len(child.Namespaces) != 8 {
		t.Fatalf("child's state = %+v, want alive, pid %d, 8 namespaces", child, cmd.Process.Pid)
	}
	// A live lab is left alone, the child's included.
	if rep, err := Clean(dir); err != nil || len(rep.Labs) != 0 {
		t.Fatalf("Clean with every daemon alive = %+v, %v; want nothing removed", rep, err)
	}

	p, err := makePlan(seedModel(name))
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, ns := range child.Namespaces {
		fd, err := unix.Open(filepath.Join(netnsDir, ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	w := watchNamespaces(t, name, dir, fds, p)
	for _, fd := range fds {
		unix.Close(fd)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !processAlive(sleepPid, mustStart(t, sleepPid)) {
		t.Fatalf("the process in h1 died with the daemon; the test needs it orphaned")
	}
	states, _ = ReadStates(dir)
	for _, st := range states {
		if st.Name == name && st.Alive {
			t.Fatalf("killed daemon reported alive")
		}
	}

	rep, err := Clean(dir)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	slices.Sort(rep.Namespaces)
	wantNS := slices.Clone(child.Namespaces)
	slices.Sort(wantNS)
	want := CleanReport{
		Labs: []string{name}, Namespaces: wantNS, Processes: []int{sleepPid}, Running: []string{liveModel.Name},
		Removed: []StateReport{{Name: name, PID: child.PID, Namespaces: len(wantNS), Processes: 1}},
		Left:    []StateReport{{Name: liveModel.Name, PID: os.Getpid()}},
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("Clean report (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.String(), "Removed lab "+name) {
		t.Errorf("report text: %q", rep.String())
	}
	w.assertGone(t)
	if _, err := os.Stat("/proc/" + pidStr); err == nil {
		if s, _, _ := procStat(sleepPid); s != 'Z' {
			t.Errorf("the process in h1 (%d) survived Clean", sleepPid)
		}
	}

	// Untouched: the live lab and the foreign namespace.
	if err := ping(live, "ha", "10.100.0.1"); err != nil {
		t.Errorf("the live lab was disturbed: %v", err)
	}
	if _, err := os.Stat(statePath(dir, liveModel.Name)); err != nil {
		t.Errorf("the live lab's state: %v", err)
	}
	if id, ok := nsIDOfPath(filepath.Join(netnsDir, name+"-foreign")); !ok || id != foreign {
		t.Errorf("the foreign namespace was removed")
	}
	if rep, err := Clean(dir); err != nil || len(rep.Labs) != 0 || rep.String() == "" {
		t.Errorf("second Clean = %+v, %v; want nothing to do", rep, err)
	}
}

func mustStart(t *testing.T, pid int) uint64 {
	t.Helper()
	_, s, err := procStat(pid)
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	return s
}

// TestCleanRefusesBadStates checks that Clean deletes nothing a state file
// names unless the file is consistent: a namespace outside the lab's
// prefix, a path, a file named after another lab are all refused.
func TestCleanRefusesBadStates(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	victim := newLabName(t)
	vid := foreignNamespace(t, victim+"-x")
	lab := newLabName(t)
	files := map[string]string{
		lab + ".json":   `{"name":"` + lab + `","pid":999999999,"namespaces":["` + victim + `-x"]}`,
		"other.json":    `{"name":"` + victim + `","pid":999999999,"namespaces":["` + victim + `-x"]}`,
		"escape.json":   `{"name":"escape","pid":999999999,"namespaces":["escape-../../../tmp"]}`,
		"garbage.json":  `{"name":`,
		"not-state.txt": `whatever`,
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sts, err := ReadStates(dir)
	if err == nil || len(sts) != 0 {
		t.Errorf("ReadStates = %+v, %v; want no state and errors", sts, err)
	}
	for _, want := range []string{"garbage.json", "other.json", "escape.json", lab + ".json"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadStates error %v does not name %s", err, want)
		}
	}
	rep, err := Clean(dir)
	if err == nil || len(rep.Labs) != 0 {
		t.Errorf("Clean = %+v, %v; want an error and nothing removed", rep, err)
	}
	if id, ok := nsIDOfPath(filepath.Join(netnsDir, victim+"-x")); !ok || id != vid {
		t.Errorf("a namespace named by an inconsistent state file was removed")
	}
	for n := range files {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}
