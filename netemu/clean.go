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
	// Labs are the dead labs whose leftovers were removed.
	Labs []string
	// Namespaces are the namespaces removed (names under /run/netns).
	Namespaces []string
	// Processes are the pids of the processes ended because they ran in a
	// dead lab's namespace.
	Processes []int
	// Running are the labs left alone because their daemon is alive.
	Running []string
}

// String renders the report as `lab clean` prints it.
func (r CleanReport) String() string {
	var b strings.Builder
	for _, n := range r.Running {
		fmt.Fprintf(&b, "*** Leaving lab %s alone: its daemon is running (lab down %s stops it)\n", n, n)
	}
	if len(r.Labs) == 0 {
		b.WriteString("*** Nothing to clean")
		return b.String()
	}
	fmt.Fprintf(&b, "*** Removed lab %s: %s, %s\n*** Cleanup complete",
		strings.Join(r.Labs, ", "), count(len(r.Namespaces), "namespace"), count(len(r.Processes), "process"))
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

// Clean removes the leftovers of every lab in runDir ("" means
// ResolveRunDir's choice) whose daemon is dead, even killed by SIGKILL
// mid-build: the processes running in its namespaces, the namespaces'
// registrations under /run/netns (the kernel then destroys each namespace
// with its devices), its control socket and, last, its state file. It
// never touches a lab whose daemon is alive, nor anything that no state
// file names. Errors are joined; the report says what was done anyway.
func Clean(runDir string) (CleanReport, error) {
	runDir = ResolveRunDir(runDir)
	var rep CleanReport
	states, err := ReadStates(runDir)
	errs := []error{err}
	for _, st := range states {
		if st.Alive {
			rep.Running = append(rep.Running, st.Name)
			continue
		}
		r, err := cleanState(st)
		rep.Labs = append(rep.Labs, st.Name)
		rep.Namespaces = append(rep.Namespaces, r.Namespaces...)
		rep.Processes = append(rep.Processes, r.Processes...)
		errs = append(errs, err)
	}
	errs = append(errs, cleanTempFiles(runDir))
	return rep, errors.Join(errs...)
}

// cleanState removes what the dead lab st left. Its state file is removed
// only when everything else is gone, so a failed clean can be retried.
func cleanState(st State) (CleanReport, error) {
	rep := CleanReport{Labs: []string{st.Name}}
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
	pids, err := killIn(ids)
	rep.Processes = append(rep.Processes, pids...)
	errs = append(errs, err)
	for _, ns := range present {
		if err := unregisterNS(ns); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Namespaces = append(rep.Namespaces, ns)
	}
	pids, err = killIn(ids)
	rep.Processes = append(rep.Processes, pids...)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("cleaning lab %s: %w", st.Name, err)
	}
	removeSocket(st.Socket)
	if err := os.Remove(st.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("cleaning lab %s: %w", st.Name, err)
	}
	return rep, nil
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
