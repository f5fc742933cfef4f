package netemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultRunDir is where labs keep their state when neither Options.RunDir
// nor $LAB_RUN_DIR says otherwise.
const DefaultRunDir = "/run/lab"

// RunDirEnv names the environment variable that overrides DefaultRunDir
// (tests point it at a temporary directory).
const RunDirEnv = "LAB_RUN_DIR"

// netnsDir is where namespaces are registered, as `ip netns add` does, so
// that `ip netns exec <lab>-<node> …` finds them. It is not configurable:
// the whole point of registering is that standard tools look there.
const netnsDir = "/run/netns"

// labNameRE is the lab name syntax of docs/design.md. Namespaces are named
// "<lab>-<node>", so the name is also what marks a namespace as owned.
var labNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

// ResolveRunDir returns the state directory to use: dir when it is not
// empty, else $LAB_RUN_DIR, else DefaultRunDir.
func ResolveRunDir(dir string) string {
	if dir != "" {
		return dir
	}
	if d := os.Getenv(RunDirEnv); d != "" {
		return d
	}
	return DefaultRunDir
}

// State is what a lab records in <RunDir>/<lab>.json so that `lab ls` can
// list it and `lab clean` can remove it after its daemon died. The file is
// written before the first namespace is created and removed last, so it
// always names a superset of what exists.
//
// A test run keeps a state file of the same format (Kind KindTest, kept up
// to date through a Record), so that `lab clean` removes what a killed
// test binary left exactly as it removes what a killed daemon left.
type State struct {
	// Name is the lab's (or test run's) name.
	Name string `json:"name"`
	// Kind is "" for a lab and KindTest for a test run.
	Kind string `json:"kind,omitempty"`
	// Program is the owner's program for a test run ("interop.test"), so
	// that `lab clean` can say whose leftovers it removed.
	Program string `json:"program,omitempty"`
	// PID is the daemon that owns the lab, and PIDStart its start time in
	// clock ticks since boot (/proc/<pid>/stat field 22): a recycled pid
	// has another start time, so a lab is never taken for alive because an
	// unrelated process got its daemon's pid.
	PID      int    `json:"pid"`
	PIDStart uint64 `json:"pid_start"`
	// File is the topology file the lab was built from ("" when built in
	// memory).
	File string `json:"file,omitempty"`
	// Socket is the daemon's control socket.
	Socket string `json:"socket,omitempty"`
	// Namespaces are the names (under /run/netns) of every namespace the
	// lab creates, "<lab>-<node>".
	Namespaces []string `json:"namespaces"`
	// Processes are processes the owner started and recorded (a test
	// run's daemons, terminals, browsers), each with its start time so
	// that a recycled pid is never taken for one of them.
	Processes []Process `json:"processes,omitempty"`
	// Marked says that every process whose environment names this record
	// in $LAB_OWNER (OwnerEnv) belongs to it: the owner set that variable
	// for itself, and its children inherit it, recorded or not.
	Marked bool `json:"marked,omitempty"`
	// Created is when the build started.
	Created time.Time `json:"created"`

	// Path is the state file itself; set by ReadStates, not stored.
	Path string `json:"-"`
	// Alive reports whether the daemon was running when ReadStates read the
	// file; not stored.
	Alive bool `json:"-"`
}

// KindTest is the Kind of a test run's state file.
const KindTest = "test"

// Process is a process named by a state file.
type Process struct {
	PID int `json:"pid"`
	// Start is its start time in clock ticks since boot, as State.PIDStart.
	Start uint64 `json:"start"`
	// Name is what it runs ("gobgpd"), for people reading the file.
	Name string `json:"name,omitempty"`
}

// Running reports whether the process still runs: a live process with
// that pid and that start time (not a zombie, not a recycled pid).
func (p Process) Running() bool { return processAlive(p.PID, p.Start) }

// Dir is the directory the state file's owner keeps its files in,
// <RunDir>/<name>.d: removed with the state file, and searched for state
// files of the labs (and test runs) the owner started, which are cleaned
// first. The path derives from the name, never from the file's content.
func (s State) Dir() string {
	if s.Path == "" {
		return ""
	}
	return ownedDir(filepath.Dir(s.Path), s.Name)
}

// ownedDir is the directory of the state file of name in runDir.
func ownedDir(runDir, name string) string { return filepath.Join(runDir, name+".d") }

// ReadStates reads every lab state file in runDir ("" means ResolveRunDir's
// choice), sorted by lab name, and says for each whether its daemon is
// alive. A missing directory means no labs. A file that cannot be read or
// parsed is reported in the error (joined with the others) and left out;
// the valid ones are still returned.
func ReadStates(runDir string) ([]State, error) {
	runDir = ResolveRunDir(runDir)
	ents, err := os.ReadDir(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lab states: %w", err)
	}
	var out []State
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		st, err := readState(filepath.Join(runDir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b State) int { return strings.Compare(a.Name, b.Name) })
	return out, errors.Join(errs...)
}

// readState reads and checks one state file. The checks matter because
// Clean deletes what a state file names: a file whose name does not match
// its lab, or that lists a namespace outside its lab's prefix, is refused.
func readState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("lab state %s: %w", path, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("lab state %s: %w", path, err)
	}
	if !labNameRE.MatchString(st.Name) {
		return State{}, fmt.Errorf("lab state %s: invalid lab name %q", path, st.Name)
	}
	if want := st.Name + ".json"; filepath.Base(path) != want {
		return State{}, fmt.Errorf("lab state %s: names lab %q, so it should be called %s", path, st.Name, want)
	}
	for _, ns := range st.Namespaces {
		if err := checkNamespaceName(st.Name, ns); err != nil {
			return State{}, fmt.Errorf("lab state %s: %w", path, err)
		}
	}
	if st.Kind != "" && st.Kind != KindTest {
		return State{}, fmt.Errorf("lab state %s: unknown kind %q", path, st.Kind)
	}
	for _, p := range st.Processes {
		if p.PID <= 0 {
			return State{}, fmt.Errorf("lab state %s: invalid process id %d", path, p.PID)
		}
	}
	st.Path = path
	st.Alive = processAlive(st.PID, st.PIDStart)
	return st, nil
}

// checkNamespaceName accepts the name of a namespace lab may own: a single
// path element under /run/netns that starts with "<lab>-".
func checkNamespaceName(lab, ns string) error {
	node, ok := strings.CutPrefix(ns, lab+"-")
	if !ok || node == "" || strings.ContainsAny(ns, "/\x00") || ns == "." || ns == ".." || len(ns) > 255 {
		return fmt.Errorf("namespace name %q is not of the form %s-<node>", ns, lab)
	}
	return nil
}

// statePath is the state file of lab name.
func statePath(runDir, name string) string { return filepath.Join(runDir, name+".json") }

// writeStateExclusive publishes st at its path atomically and only if no
// state file of that lab exists: the content goes to a temporary file that
// is then hard-linked to the final name (link(2) fails with EEXIST rather
// than replacing), so two daemons starting the same lab cannot both win
// and a reader never sees a half-written file.
func writeStateExclusive(runDir string, st State) (string, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return "", fmt.Errorf("lab state directory: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	b = append(b, '\n')
	final := statePath(runDir, st.Name)
	tmp := filepath.Join(runDir, "."+st.Name+".json."+strconv.Itoa(os.Getpid())+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return "", fmt.Errorf("writing lab state: %w", err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, final); err != nil {
		return "", fmt.Errorf("publishing lab state %s: %w", final, err)
	}
	return final, nil
}

// writeState replaces the state file of st atomically (a temporary file
// renamed over it): its owner adds to it as it creates things.
func writeState(runDir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp := filepath.Join(runDir, "."+st.Name+".json."+strconv.Itoa(os.Getpid())+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	if err := os.Rename(tmp, statePath(runDir, st.Name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing lab state: %w", err)
	}
	return nil
}

// procStat returns the state letter and start time (clock ticks after boot)
// of process pid from /proc/<pid>/stat.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces and parentheses: the fields we want follow the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 > len(b) {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 (starttime) is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return f[0][0], start, nil
}

// processAlive reports whether pid is a live (not zombie) process that
// started at start.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	state, s, err := procStat(pid)
	if err != nil {
		return false
	}
	return s == start && state != 'Z' && state != 'X'
}
