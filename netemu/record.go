package netemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// OwnerEnv names the environment variable that marks processes as
// belonging to state files: its value is a space-separated list of their
// names, outermost first. The owner of a marked state file (State.Marked)
// adds its name for itself, so that every process it starts, and theirs,
// inherits it; Clean ends them with it, recorded or not, once the owner is
// dead.
const OwnerEnv = "LAB_OWNER"

// Record is a state file kept up to date by its owner, this process, as
// it creates things one at a time: a test run records each namespace
// before creating it and each process as it starts, so that Clean can
// remove them if the process dies without removing them itself. Its
// methods are safe for concurrent use.
type Record struct {
	runDir string

	// mu guards st and the file: one writer at a time.
	mu       sync.Mutex
	st       State
	released bool
}

// ClaimRecord writes the state file of st in runDir ("" means
// ResolveRunDir's choice), owned by this process: st gives the name, Kind,
// Program and Marked; its namespaces and processes are added later. A
// state file of that name whose owner is dead is cleaned first, as
// Clean would; one whose owner is alive makes it fail with ErrRunning.
func ClaimRecord(runDir string, st State) (*Record, error) {
	runDir = ResolveRunDir(runDir)
	if !labNameRE.MatchString(st.Name) {
		return nil, fmt.Errorf("state name %q: must match %s", st.Name, labNameRE)
	}
	path := statePath(runDir, st.Name)
	if _, err := os.Lstat(path); err == nil {
		old, err := readState(path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the state left by a previous run (remove it after checking): %w", st.Name, err)
		}
		if old.Alive {
			return nil, fmt.Errorf("%s (pid %d): %w", st.Name, old.PID, ErrRunning)
		}
		if _, err := cleanState(old); err != nil {
			return nil, fmt.Errorf("%s: cleaning the previous run: %w", st.Name, err)
		}
	}
	_, start, err := procStat(os.Getpid())
	if err != nil {
		return nil, err
	}
	st.PID, st.PIDStart = os.Getpid(), start
	st.Namespaces, st.Processes = nil, nil
	st.Created = time.Now().UTC().Truncate(time.Millisecond)
	st.Path, st.Alive = "", false
	p, err := writeStateExclusive(runDir, st)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s: %w (claimed by another process just now)", st.Name, ErrRunning)
	}
	if err != nil {
		return nil, err
	}
	st.Path = p
	return &Record{runDir: runDir, st: st}, nil
}

// State returns what the record holds.
func (r *Record) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Namespaces = slices.Clone(st.Namespaces)
	st.Processes = slices.Clone(st.Processes)
	st.Alive = !r.released
	return st
}

// Dir returns the record's directory (State.Dir), made if needed. Files
// the owner puts there go with the record; state directories of labs
// built there are cleaned with it.
func (r *Record) Dir() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return "", ErrClosed
	}
	d := r.st.Dir()
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", r.st.Name, err)
	}
	return d, nil
}

// AddNamespace records the namespace /run/netns/ns, which the caller is
// about to create: ns must start with "<name>-" and must not exist yet
// (ErrNamespaceExists), so a record never names somebody else's.
func (r *Record) AddNamespace(ns string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return ErrClosed
	}
	if err := checkNamespaceName(r.st.Name, ns); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(netnsDir, ns)); err == nil {
		return fmt.Errorf("%s: %w", filepath.Join(netnsDir, ns), ErrNamespaceExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if slices.Contains(r.st.Namespaces, ns) {
		return nil
	}
	st := r.st
	st.Namespaces = append(slices.Clone(st.Namespaces), ns)
	return r.write(st)
}

// RemoveNamespace ends the processes running in namespace ns, removes its
// registration if it still exists, and forgets it. ns must have been
// added.
func (r *Record) RemoveNamespace(ns string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.Index(r.st.Namespaces, ns)
	if i < 0 {
		return fmt.Errorf("namespace %s: %w", ns, ErrNotInLab)
	}
	if id, ok := nsIDOfPath(filepath.Join(netnsDir, ns)); ok {
		if _, err := killIn(map[nsID]bool{id: true}); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	if err := unregisterNS(ns); err != nil {
		return err
	}
	if r.released {
		return nil
	}
	st := r.st
	st.Namespaces = slices.Delete(slices.Clone(st.Namespaces), i, i+1)
	return r.write(st)
}

// AddProcess records process pid, started by the caller, with its start
// time: Clean ends it if it still runs when the owner is dead. name says
// what it runs. A process that has exited already is not recorded.
func (r *Record) AddProcess(pid int, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return ErrClosed
	}
	_, start, err := procStat(pid)
	if err != nil {
		return nil // exited (and reaped) already
	}
	st := r.st
	st.Processes = append(slices.Clone(st.Processes), Process{PID: pid, Start: start, Name: name})
	return r.write(st)
}

// write publishes st and makes it the record's.
func (r *Record) write(st State) error {
	if err := writeState(r.runDir, st); err != nil {
		return fmt.Errorf("%s: %w", st.Name, err)
	}
	r.st = st
	return nil
}

// Release removes everything the record names as Clean would if its owner
// were dead, this process excepted: the processes it recorded or marked
// and those running in its namespaces, the labs and test runs in its
// directory (its own labs included), the namespaces, the directory and
// the state file. After it, the record accepts nothing more. On error the
// state file stays, for Clean to finish the work once this process is
// gone.
func (r *Record) Release() (CleanReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released = true
	st := r.st
	if _, err := os.Lstat(st.Path); errors.Is(err, fs.ErrNotExist) {
		return CleanReport{}, nil // released already
	}
	return cleanState(st)
}
