package netemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CleanReport says what Clean did.
type CleanReport struct {
	// Labs are the dead labs and test runs whose leftovers were removed,
	// those found in a removed test run's directory included.
	Labs []string
	// Namespaces are the namespaces removed (names under /run/netns).
	Namespaces []string
	// Processes are the pids of the processes ended: those running in a
	// dead lab's namespaces, and those a dead test run recorded or marked.
	Processes []int
	// Running are the labs and test runs left alone because their owner
	// (daemon or test binary) is alive.
	Running []string
	// Removed and Left describe the same state files one by one, in the
	// order they were handled, for String.
	Removed, Left []StateReport
}

// StateReport is what Clean did with one state file.
type StateReport struct {
	Name, Kind, Program string
	// PID is the owner's pid.
	PID int
	// Namespaces and Processes count what was removed for this one alone.
	Namespaces, Processes int
	// Dir is the owner's directory (State.Dir) when it was removed.
	Dir string
}

// String renders the report as `lab clean` prints it.
func (r CleanReport) String() string {
	var b strings.Builder
	for _, s := range r.Left {
		if s.Kind == KindTest {
			fmt.Fprintf(&b, "*** Leaving test run %s alone: its test binary %s (pid %d) is running\n", s.Name, s.Program, s.PID)
			continue
		}
		fmt.Fprintf(&b, "*** Leaving lab %s alone: its daemon is running (lab down %s stops it)\n", s.Name, s.Name)
	}
	if len(r.Removed) == 0 {
		b.WriteString("*** Nothing to clean")
		return b.String()
	}
	for _, s := range r.Removed {
		what := "lab " + s.Name
		if s.Kind == KindTest {
			what = fmt.Sprintf("test run %s (%s, pid %d)", s.Name, s.Program, s.PID)
		}
		fmt.Fprintf(&b, "*** Removed %s: %s, %s", what, count(s.Namespaces, "namespace"), count(s.Processes, "process"))
		if s.Dir != "" {
			fmt.Fprintf(&b, ", %s", s.Dir)
		}
		b.WriteString("\n")
	}
	b.WriteString("*** Cleanup complete")
	return b.String()
}

// count renders "1 namespace", "2 namespaces", "0 processes".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// merge adds o to r.
func (r *CleanReport) merge(o CleanReport) {
	r.Labs = append(r.Labs, o.Labs...)
	r.Namespaces = append(r.Namespaces, o.Namespaces...)
	r.Processes = append(r.Processes, o.Processes...)
	r.Running = append(r.Running, o.Running...)
	r.Removed = append(r.Removed, o.Removed...)
	r.Left = append(r.Left, o.Left...)
}

// Clean removes the leftovers of every lab and test run in runDir (""
// means ResolveRunDir's choice) whose owner is dead, even killed by
// SIGKILL mid-build: the processes running in its namespaces, those it
// recorded and those carrying its mark (State.Marked), the labs and test
// runs in its directory (cleaned the same way), the namespaces'
// registrations under /run/netns (the kernel then destroys each namespace
// with its devices), its control socket, its directory and, last, its
// state file. It never touches a lab or test run whose owner is alive, nor
// anything that no state file names. Errors are joined; the report says
// what was done anyway.
func Clean(runDir string) (CleanReport, error) {
	runDir = ResolveRunDir(runDir)
	states, err := ReadStates(runDir)
	rep, cerr := cleanStates(states, procID{})
	return rep, errors.Join(err, cerr, cleanTempFiles(runDir))
}

// procID is a process known by its pid and start time.
type procID struct {
	pid   int
	start uint64
}

// cleanStates cleans the states whose owner is dead, or is dead (the
// owner of the state file whose directory they are in: Record.Release
// takes its own process for dead), and leaves the others alone.
func cleanStates(states []State, dead procID) (CleanReport, error) {
	var rep CleanReport
	var errs []error
	for _, st := range states {
		if st.Alive && (st.PID != dead.pid || st.PIDStart != dead.start) {
			rep.Running = append(rep.Running, st.Name)
			rep.Left = append(rep.Left, StateReport{Name: st.Name, Kind: st.Kind, Program: st.Program, PID: st.PID})
			continue
		}
		r, err := cleanState(st)
		rep.merge(r)
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// cleanState removes what the dead owner of st left. Its state file is
// removed only when everything else is gone, so a failed clean can be
// retried.
func cleanState(st State) (CleanReport, error) {
	var rep CleanReport
	me := StateReport{Name: st.Name, Kind: st.Kind, Program: st.Program, PID: st.PID}
	ids := map[nsID]bool{}
	var present []string
	for _, ns := range st.Namespaces {
		if checkNamespaceName(st.Name, ns) != nil {
			continue // readState refused such files already
		}
		path := filepath.Join(netnsDir, ns)
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		present = append(present, ns)
		if id, ok := nsIDOfPath(path); ok {
			ids[id] = true
		}
	}
	var errs []error
	killed := func(pids []int, err error) {
		rep.Processes = append(rep.Processes, pids...)
		me.Processes += len(pids)
		errs = append(errs, err)
	}
	// What runs in its namespaces, what it recorded, and what inherited
	// its mark: the descendants of its processes, daemonized or not.
	match := []func(int) bool{inNamespaces(ids), recorded(st.Processes)}
	if st.Marked {
		match = append(match, markedBy(st.Name))
	}
	killed(killMatching(anyOf(match...)))
	// The labs and test runs it started keep state files of their own in
	// its directory; their owners are dead now, or are its own process.
	dir := st.Dir()
	hasDir := false
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		hasDir = true
		r, err := cleanNested(dir, procID{st.PID, st.PIDStart})
		rep.merge(r)
		errs = append(errs, err)
		if len(r.Left) > 0 {
			errs = append(errs, fmt.Errorf("%s in its directory still running", strings.Join(r.Running, ", ")))
		}
	}
	for _, ns := range present {
		if err := unregisterNS(ns); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Namespaces = append(rep.Namespaces, ns)
		me.Namespaces++
	}
	// A process may have entered a namespace through its path between the
	// first scan and the unmount.
	killed(killIn(ids))
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("cleaning %s: %w", describe(st), err)
	}
	if hasDir {
		if err := removeTree(dir); err != nil {
			return rep, fmt.Errorf("cleaning %s: %w", describe(st), err)
		}
		me.Dir = dir
	}
	removeSocket(st.Socket)
	if err := os.Remove(st.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("cleaning %s: %w", describe(st), err)
	}
	rep.Labs = append(rep.Labs, st.Name)
	rep.Removed = append(rep.Removed, me)
	return rep, nil
}

// describe names st in messages: "lab L" or "test run R".
func describe(st State) string {
	if st.Kind == KindTest {
		return "test run " + st.Name
	}
	return "lab " + st.Name
}

// cleanNested cleans the state files found anywhere under dir, the
// directory of a dead owner (dead): its labs' and test runs' (a test's
// temporary directories are there, and hold the state directories of the
// labs it builds). Files that are not state files are not an error here:
// the directory holds the owner's other files too, and goes as a whole.
func cleanNested(dir string, dead procID) (CleanReport, error) {
	var rep CleanReport
	var errs []error
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		// Cleaned before WalkDir reads the directory, so the directories
		// of the state files cleaned here are not walked twice.
		r, err := cleanStates(readNestedStates(path), dead)
		rep.merge(r)
		errs = append(errs, err)
		return nil
	})
	return rep, errors.Join(errs...)
}

// readNestedStates returns the valid state files in dir, ignoring every
// other file.
func readNestedStates(dir string) []State {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []State
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		if st, err := readState(filepath.Join(dir, name)); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// removeTree removes dir and everything in it, unless something is
// mounted there: RemoveAll would then delete files of another file system
// that no state file names.
func removeTree(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(string(mi), "\n") {
		// Field 5 is the mount point, with spaces and such octal-escaped.
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			return fmt.Errorf("%s: something is mounted on %s; not removing it", dir, f[4])
		}
	}
	return os.RemoveAll(dir)
}

// cleanTempFiles removes the temporary files of state writes
// (".<lab>.json.<pid>.tmp") whose writer is dead.
func cleanTempFiles(runDir string) error {
	ents, err := os.ReadDir(runDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".tmp") || !e.Type().IsRegular() {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(n, ".tmp"), ".")
		if len(parts) < 4 || parts[len(parts)-2] != "json" {
			continue
		}
		pid, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			continue
		}
		os.Remove(filepath.Join(runDir, n))
	}
	return nil
}
