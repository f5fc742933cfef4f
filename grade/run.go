package grade

import (
	"context"
	"strings"
	"time"

	"lab/topo"
)

// Session runs a test's steps and checks on a running lab. `lab test`
// runs steps through the shell (node commands in the node, the others in
// the daemon) and checks in the daemon (`check ...` lines).
type Session interface {
	// Step runs one shell command line; out is what it printed, err why
	// it failed.
	Step(ctx context.Context, line string) (out string, err error)
	// Check runs check c on node until it passes or deadline passes. err
	// is a check that could not run at all.
	Check(ctx context.Context, node string, c *topo.Check, deadline time.Time) (Result, error)
}

// Status is a test's outcome.
type Status string

// Statuses.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Warning Status = "warning" // failed, at level warning
	Skipped Status = "skipped" // not run: an earlier test stopped the run
)

// TestResult is one test's outcome.
type TestResult struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Status      Status  `json:"status"`
	Seconds     float64 `json:"seconds"`
	// Message is the test's pass text when it passed, its fail text (the
	// hint) when it did not.
	Message string       `json:"message,omitempty"`
	Steps   []StepResult `json:"steps,omitempty"`
	Checks  []Result     `json:"checks,omitempty"`
}

// StepResult is a step's outcome.
type StepResult struct {
	Line  string `json:"line"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Output is what the step printed, kept when it failed.
	Output string `json:"output,omitempty"`
}

// Report is a test run.
type Report struct {
	Lab     string       `json:"lab"`
	File    string       `json:"file"`
	Tests   []TestResult `json:"tests"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Warned  int          `json:"warnings"`
	Skipped int          `json:"skipped"`
	Seconds float64      `json:"seconds"`
}

// Exit codes of `lab test`, netlab validate's.
const (
	ExitPassed   = 0 // every test passed
	ExitFailed   = 1 // a test failed
	ExitNoTest   = 2 // no usable test, or a bad file
	ExitWarnings = 3 // passed, with warnings
)

// ExitCode is the run's exit status.
func (r *Report) ExitCode() int {
	switch {
	case len(r.Tests) == 0:
		return ExitNoTest
	case r.Failed > 0 || r.Skipped > 0:
		return ExitFailed
	case r.Warned > 0:
		return ExitWarnings
	}
	return ExitPassed
}

// RunTests runs tests in order on s: each one's steps, then its check on
// each of its nodes, retried until the test's wait (counted from its
// start) is over. A failed test with stop_on_error skips the rest.
// progress, when not nil, is called with each result as it comes.
func RunTests(ctx context.Context, s Session, tests []*topo.Test, progress func(TestResult)) *Report {
	rep := &Report{}
	start := time.Now()
	stopped := false
	for _, t := range tests {
		var tr TestResult
		if stopped || ctx.Err() != nil {
			tr = TestResult{Name: t.Name, Description: Describe(t), Status: Skipped}
		} else {
			tr = runTest(ctx, s, t)
			if tr.Status == Failed && t.StopOnError {
				stopped = true
			}
		}
		switch tr.Status {
		case Passed:
			rep.Passed++
		case Failed:
			rep.Failed++
		case Warning:
			rep.Warned++
		case Skipped:
			rep.Skipped++
		}
		rep.Tests = append(rep.Tests, tr)
		if progress != nil {
			progress(tr)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep
}

func runTest(ctx context.Context, s Session, t *topo.Test) TestResult {
	start := time.Now()
	deadline := start.Add(t.Wait)
	tr := TestResult{Name: t.Name, Description: Describe(t), Status: Passed}
	ok := true
	for _, st := range t.Do {
		out, err := s.Step(ctx, st.Line)
		sr := StepResult{Line: st.Line, OK: err == nil}
		if err != nil {
			sr.Error, sr.Output = err.Error(), out
			ok = false
		}
		tr.Steps = append(tr.Steps, sr)
		if !ok {
			break
		}
	}
	if ok && t.Check != nil {
		for _, n := range t.Nodes {
			r, err := s.Check(ctx, n, t.Check, deadline)
			if err != nil {
				r = Result{Node: n, Check: Line(n, t.Check, 0), Seen: err.Error()}
			}
			tr.Checks = append(tr.Checks, r)
			ok = ok && r.Passed
		}
	}
	tr.Seconds = time.Since(start).Seconds()
	switch {
	case ok:
		tr.Message = t.Pass
	case t.Warning:
		tr.Status, tr.Message = Warning, t.Fail
	default:
		tr.Status, tr.Message = Failed, t.Fail
	}
	return tr
}

// Describe is a test's description, or what it does when it has none:
// its steps and its check on each node, as shell lines.
func Describe(t *topo.Test) string {
	if t.Description != "" {
		return t.Description
	}
	var parts []string
	for _, s := range t.Do {
		parts = append(parts, s.Line)
	}
	if t.Check != nil {
		for _, n := range t.Nodes {
			parts = append(parts, Line(n, t.Check, 0))
		}
	}
	return strings.Join(parts, "; ")
}

// LocalSession runs checks in this process on lab (the daemon's own
// lab, or a test's), and steps with step.
type LocalSession struct {
	Lab     Lab
	RunStep func(ctx context.Context, line string) (string, error)
}

// Step runs line with RunStep.
func (s LocalSession) Step(ctx context.Context, line string) (string, error) {
	return s.RunStep(ctx, line)
}

// Check runs the check with Run.
func (s LocalSession) Check(ctx context.Context, node string, c *topo.Check, deadline time.Time) (Result, error) {
	return Run(ctx, s.Lab, node, c, deadline), nil
}
