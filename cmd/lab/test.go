package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"lab/cli/shell"
	"lab/control"
	"lab/grade"
	"lab/topo"
)

const testUsage = `usage: lab test [--list] [--json] [--junit FILE] [--name NAME | --lab NAME] FILE|NAME [TEST...]
       lab test --batch DIR [--csv|--json] [--junit FILE] [--name NAME] FILE [TEST...]`

// cmdTest is `lab test`: a lab's tests (its file's `validate:` section, or
// an exercise file's), on a lab of its own started from FILE, or on the
// running lab NAME; one line per test; netlab's exit codes. With
// --batch, every submission in DIR against one exercise.
func cmdTest(args []string) error {
	list, args := flagBool(args, "--list")
	asJSON, args := flagBool(args, "--json", "-j")
	asCSV, args := flagBool(args, "--csv")
	junit, args, _ := flagValue(args, "--junit")
	batch, args, isBatch := flagValue(args, "--batch")
	on, args, _ := flagValue(args, "--lab")
	// --name: the lab's name (with --batch, NAME-1, NAME-2, ...), as
	// `lab run --name`; default: one of its own.
	as, args, _ := flagValue(args, "--name")
	if len(args) == 0 || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") }) {
		return exitError{code: grade.ExitNoTest, msg: testUsage}
	}
	if isBatch {
		if list || on != "" {
			return exitError{code: grade.ExitNoTest, msg: testUsage}
		}
		return cmdTestBatch(batch, args[0], args[1:], asJSON, asCSV, junit, as)
	}
	if asCSV {
		return exitError{code: grade.ExitNoTest, msg: "lab test: --csv is for --batch\n" + testUsage}
	}
	target, names := args[0], args[1:]
	var x *topo.Exercise
	running := "" // the running lab the tests run on
	if _, err := os.Stat(target); err == nil {
		if x, err = loadExercise(target); err != nil {
			return err
		}
		running = on
	} else {
		if on != "" || as != "" {
			return exitError{code: grade.ExitNoTest, msg: fmt.Sprintf("lab test: no file %s", target)}
		}
		// A running lab: the tests of the file it was started from.
		running = target
	}
	var info *control.Info
	if running != "" {
		var err error
		if info, err = attach(running); err != nil {
			return exitError{code: grade.ExitNoTest, msg: "lab test: " + err.Error()}
		}
		if x == nil {
			if x, err = loadExercise(info.File); err != nil {
				return err
			}
		}
		// The running lab's topology may not be the exercise's own (a
		// student's): the tests must apply to it.
		m, err := topo.Load(info.File)
		if err != nil {
			return exitError{code: grade.ExitNoTest, msg: fmt.Sprintf("lab test: the running lab's topology %s: %v", info.File, err)}
		}
		if x.Tests, err = x.Bind(m); err != nil {
			topo.WriteErrors(os.Stderr, err)
			return exitError{code: grade.ExitNoTest}
		}
	}
	tests, err := selectTests(x, names)
	if err != nil {
		return err
	}
	if list {
		listTests(os.Stdout, tests)
		return nil
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()
	out := io.Writer(os.Stdout)
	if asJSON {
		out = io.Discard
	}
	if info == nil {
		// A lab of its own, under a name of its own, torn down at the end
		// (or when we die: we own it).
		if err := needRoot("test"); err != nil {
			return exitError{code: grade.ExitNoTest, msg: err.Error()}
		}
		t := time.Now()
		name, down, err := startTestLab(x.Topology, x.Lab.Name, as)
		if err != nil {
			return exitError{code: grade.ExitNoTest, msg: "lab test: " + err.Error()}
		}
		defer down()
		fmt.Fprintf(out, "*** Lab %s started as %s (%.2fs)\n", x.Lab.Name, name, time.Since(t).Seconds())
		if info, err = attach(name); err != nil {
			return exitError{code: grade.ExitNoTest, msg: "lab test: " + err.Error()}
		}
	}
	fmt.Fprintf(out, "*** Testing lab %s: %d tests from %s\n", x.Lab.Name, len(tests), x.File)
	rep := runTests(ctx, info, tests, out)
	rep.Lab, rep.File = x.Lab.Name, x.File
	grade.WriteSummary(out, rep)
	if asJSON {
		grade.WriteJSON(os.Stdout, rep)
	}
	if junit != "" {
		if err := writeJUnit(junit, rep); err != nil {
			return err
		}
	}
	if code := rep.ExitCode(); code != 0 {
		return exitError{code: code}
	}
	return nil
}

// loadExercise loads a file's tests, its problems printed as `lab
// validate` prints them (exit status 2: a bad file).
func loadExercise(file string) (*topo.Exercise, error) {
	x, err := topo.LoadExercise(file)
	if err != nil {
		topo.WriteErrors(os.Stderr, err)
		return nil, exitError{code: grade.ExitNoTest}
	}
	if len(x.Tests) == 0 {
		return nil, exitError{code: grade.ExitNoTest, msg: fmt.Sprintf("lab test: %s has no test (a `validate:` section)", file)}
	}
	return x, nil
}

// selectTests returns the tests named (all when none is), in the file's
// order.
func selectTests(x *topo.Exercise, names []string) ([]*topo.Test, error) {
	if len(names) == 0 {
		return x.Tests, nil
	}
	var out []*topo.Test
	for _, n := range names {
		i := slices.IndexFunc(x.Tests, func(t *topo.Test) bool { return t.Name == n })
		if i < 0 {
			var all []string
			for _, t := range x.Tests {
				all = append(all, t.Name)
			}
			return nil, exitError{code: grade.ExitNoTest, msg: fmt.Sprintf("lab test: %s has no test %q; it has: %s", x.File, n, strings.Join(all, ", "))}
		}
		out = append(out, x.Tests[i])
	}
	return out, nil
}

func listTests(w io.Writer, tests []*topo.Test) {
	width := 0
	for _, t := range tests {
		width = max(width, len(t.Name))
	}
	for _, t := range tests {
		what := ""
		if len(t.Do) > 0 {
			var steps []string
			for _, s := range t.Do {
				steps = append(steps, s.Line)
			}
			what = "do: " + strings.Join(steps, "; ")
		}
		if t.Check != nil {
			if what != "" {
				what += "; then "
			}
			what += t.Check.Kind() + " on " + strings.Join(t.Nodes, ", ")
		}
		if t.Wait > 0 {
			what += fmt.Sprintf(" (wait %gs)", t.Wait.Seconds())
		}
		desc := ""
		if t.Description != "" {
			desc = t.Description + ": "
		}
		fmt.Fprintf(w, "%-*s  %s%s\n", width, t.Name, desc, what)
	}
}

// startTestLab starts the topology file's lab under name (one of its own,
// made from base, when ""), owned by this process, and returns its name
// and how to stop it.
func startTestLab(file, base, name string) (string, func(), error) {
	if name == "" {
		var b [2]byte
		rand.Read(b[:])
		name = strings.TrimRight(fmt.Sprintf("lt-%.10s", base), "-") + "-" + hex.EncodeToString(b[:])
	}
	m, err := topo.LoadAs(file, name)
	if err != nil {
		return "", nil, err
	}
	if err := checkNotRunning(name); err != nil {
		return "", nil, err
	}
	if err := startDaemon(m, file, os.Getpid(), io.Discard); err != nil {
		return "", nil, err
	}
	down := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		control.Do(ctx, socketPath(name), control.Request{Op: control.OpDown}, nil)
	}
	return name, down, nil
}

// runTests runs tests on the running lab info describes, printing each
// result to out as it comes.
func runTests(ctx context.Context, info *control.Info, tests []*topo.Test, out io.Writer) *grade.Report {
	width := 0
	for _, t := range tests {
		width = max(width, len(t.Name))
	}
	s := &labSession{sh: &shell.Shell{Info: info, Socket: socketPath(info.Name), In: strings.NewReader("")}, socket: socketPath(info.Name)}
	return grade.RunTests(ctx, s, tests, func(tr grade.TestResult) { grade.WriteTest(out, tr, width) })
}

// labSession runs a test's steps as the shell runs them (node commands
// in the node, the others in the daemon) and its checks in the daemon,
// as `check` lines: there the speakers' events wake their retries.
type labSession struct {
	sh     *shell.Shell
	socket string
}

func (s *labSession) Step(ctx context.Context, line string) (string, error) {
	var b strings.Builder
	s.sh.Out, s.sh.Err = &b, &b
	ok, _, err := s.sh.Exec(ctx, line, false)
	switch {
	case errors.Is(err, shell.ErrExit):
		return b.String(), nil
	case err != nil && err.Error() != "":
		return b.String(), err
	case err != nil || !ok:
		return b.String(), errors.New("the command failed")
	}
	return b.String(), nil
}

func (s *labSession) Check(ctx context.Context, node string, c *topo.Check, deadline time.Time) (grade.Result, error) {
	line := grade.Line(node, c, max(time.Until(deadline), 0))
	rep, err := control.Do(ctx, s.socket, control.Request{Op: control.OpRun, Line: line, JSON: true}, nil)
	var re *control.RemoteError
	if err != nil && !(errors.As(err, &re) && rep != nil && len(rep.JSON) > 0) {
		return grade.Result{}, err
	}
	var r grade.Result
	if err := json.Unmarshal(rep.JSON, &r); err != nil {
		return grade.Result{}, fmt.Errorf("%s: the daemon's answer: %w", line, err)
	}
	return r, nil
}

func writeJUnit(file string, reps ...*grade.Report) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := grade.WriteJUnit(f, reps...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cmdTestBatch grades every submission (topology file) in dir against
// the exercise file's tests, each in a lab of its own, as many at once as
// the machine has cores, and prints a summary table (or CSV, or JSON).
func cmdTestBatch(dir, file string, names []string, asJSON, asCSV bool, junit, as string) error {
	if asJSON && asCSV {
		return exitError{code: grade.ExitNoTest, msg: "lab test: --json or --csv, not both"}
	}
	if err := needRoot("test"); err != nil {
		return exitError{code: grade.ExitNoTest, msg: err.Error()}
	}
	x, err := loadExercise(file)
	if err != nil {
		return err
	}
	if _, err := selectTests(x, names); err != nil {
		return err
	}
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return exitError{code: grade.ExitNoTest, msg: fmt.Sprintf("lab test: no submission (*.yaml) in %s", dir)}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()
	start := time.Now()
	subs := make([]grade.Submission, len(files))
	workers := min(runtime.NumCPU(), len(files))
	fmt.Fprintf(os.Stderr, "*** Grading %d submissions in %s against %s (%d tests), %d at a time\n", len(files), dir, x.File, len(x.Tests), workers)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex // serializes the progress lines
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := time.Now()
				name := ""
				if as != "" {
					name = fmt.Sprintf("%s-%d", as, i+1)
				}
				subs[i] = gradeSubmission(ctx, x, files[i], names, name)
				p, n := subs[i].Score()
				mu.Lock()
				if subs[i].Error != "" {
					fmt.Fprintf(os.Stderr, "*** %s: not graded (%.2fs)\n", files[i], time.Since(t).Seconds())
				} else {
					fmt.Fprintf(os.Stderr, "*** %s: %d/%d (%.2fs)\n", files[i], p, n, time.Since(t).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
	for i := range files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	fmt.Fprintf(os.Stderr, "*** Graded %d submissions (%.2fs)\n", len(files), time.Since(start).Seconds())
	var testNames []string
	for _, t := range x.Tests {
		if len(names) == 0 || slices.Contains(names, t.Name) {
			testNames = append(testNames, t.Name)
		}
	}
	switch {
	case asJSON:
		grade.WriteJSON(os.Stdout, map[string]any{"exercise": x.File, "tests": testNames, "submissions": subs})
	case asCSV:
		if err := grade.WriteBatchCSV(os.Stdout, subs, testNames); err != nil {
			return err
		}
	default:
		grade.WriteBatch(os.Stdout, subs, len(testNames))
	}
	if junit != "" {
		var reps []*grade.Report
		for _, s := range subs {
			if s.Report != nil {
				reps = append(reps, s.Report)
			}
		}
		if err := writeJUnit(junit, reps...); err != nil {
			return err
		}
	}
	for _, s := range subs {
		if s.Report == nil || s.Report.ExitCode() == grade.ExitFailed {
			return exitError{code: grade.ExitFailed}
		}
	}
	return nil
}

// gradeSubmission runs the exercise's tests on a submission's lab.
func gradeSubmission(ctx context.Context, x *topo.Exercise, file string, names []string, name string) grade.Submission {
	sub := grade.Submission{File: file}
	m, err := topo.Load(file)
	if err != nil {
		var b strings.Builder
		topo.WriteErrors(&b, err)
		sub.Error = strings.TrimSpace(b.String())
		return sub
	}
	all, err := x.Bind(m)
	if err != nil {
		sub.Error = "the exercise's tests do not apply to it: " + err.Error()
		return sub
	}
	bound := &topo.Exercise{File: x.File, Tests: all}
	tests, err := selectTests(bound, names)
	if err != nil {
		sub.Error = err.Error()
		return sub
	}
	name, down, err := startTestLab(file, m.Name, name)
	if err != nil {
		sub.Error = "the lab did not start: " + err.Error()
		return sub
	}
	defer down()
	info, err := control.GetInfo(ctx, socketPath(name))
	if err != nil {
		sub.Error = err.Error()
		return sub
	}
	sub.Report = runTests(ctx, info, tests, io.Discard)
	sub.Report.Lab, sub.Report.File = filepath.Base(file), file
	return sub
}
