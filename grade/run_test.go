package grade

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lab/topo"
)

// changing is the recorded lab, where lab's BGP table has 10.10.1.0/24
// only once ready is set, and whose changes a test signals.
type changing struct {
	*recorded
	ready   atomic.Bool
	asked   chan struct{}
	changes chan struct{}
}

func (c *changing) Show(ctx context.Context, node, cmd string) ([]byte, error) {
	defer func() {
		select {
		case c.asked <- struct{}{}:
		default:
		}
	}()
	if strings.HasPrefix(cmd, "show bgp ipv4 10.10.1.0/24") && !c.ready.Load() {
		return []byte("{}"), nil
	}
	return c.recorded.Show(ctx, node, cmd)
}

func (c *changing) Changes() (<-chan struct{}, func()) { return c.changes, func() {} }

// A retry wakes on the lab's change, not at the next poll.
func TestRunWakesOnChanges(t *testing.T) {
	lab := &changing{recorded: newRecorded(t, ""), asked: make(chan struct{}, 1), changes: make(chan struct{}, 1)}
	_, c, _ := parseCheck(t, lab.model, "check lab prefix 10.10.1.0/24 best nexthop src")
	done := make(chan Result)
	go func() { done <- Run(context.Background(), lab, "lab", c, time.Now().Add(time.Minute)) }()
	<-lab.asked // the first try: nothing yet
	lab.ready.Store(true)
	lab.changes <- struct{}{}
	r := <-done
	if !r.Passed || r.Tries != 2 || r.Seconds >= pollBGP.Seconds() {
		t.Errorf("%+v: want passed at the second try, woken before the poll (%v)", r, pollBGP)
	}
}

// Without events a retry polls; a deadline in the past checks once.
func TestRunPollsAndStops(t *testing.T) {
	lab := newRecorded(t, "")
	_, c, _ := parseCheck(t, lab.model, "check lab route 10.99.0.0/24")
	start := time.Now()
	r := Run(context.Background(), lab, "lab", c, start.Add(350*time.Millisecond))
	if r.Passed || r.Tries < 3 || r.Tries > 5 || time.Since(start) < 350*time.Millisecond {
		t.Errorf("%+v: want 3 to 5 tries over 350 ms (a poll every %v)", r, pollKernel)
	}
	r = Run(context.Background(), lab, "lab", c, time.Now().Add(-time.Second))
	if r.Tries != 1 {
		t.Errorf("a deadline past: %d tries", r.Tries)
	}
}

// regexpSeconds matches the times of a text report.
var regexpSeconds = regexp.MustCompile(`[0-9]+\.[0-9]{2}s`)

// script is a session whose steps and checks answer from tables.
type script struct {
	steps    map[string]error
	checks   map[string]bool // by node
	ran      []string
	deadline map[string]time.Time
}

func (s *script) Step(_ context.Context, line string) (string, error) {
	s.ran = append(s.ran, line)
	return "output of " + line + "\n", s.steps[line]
}

func (s *script) Check(_ context.Context, node string, c *topo.Check, deadline time.Time) (Result, error) {
	s.ran = append(s.ran, "check "+node)
	if _, ok := s.deadline[node]; !ok {
		s.deadline[node] = deadline
	}
	ok, known := s.checks[node]
	if !known {
		return Result{}, errors.New("the daemon went away")
	}
	return Result{Node: node, Check: Line(node, c, 0), Passed: ok, Seen: "seen on " + node}, nil
}

func TestRunTests(t *testing.T) {
	x, err := topo.LoadExercise("testdata/tests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := &script{
		steps:    map[string]error{"link lab src down": errors.New("boom")},
		checks:   map[string]bool{"lab": true, "src": false},
		deadline: map[string]time.Time{},
	}
	start := time.Now()
	var progress []string
	rep := RunTests(context.Background(), s, x.Tests, func(tr TestResult) { progress = append(progress, tr.Name) })
	want := []string{"link lab frr up", "check lab", "check lab", "check src", "check src", "link lab src down"}
	if strings.Join(s.ran, "|") != strings.Join(want, "|") {
		t.Errorf("ran %q, want %q", s.ran, want)
	}
	if d := s.deadline["lab"].Sub(start); d < 10*time.Second || d > 11*time.Second {
		t.Errorf("the check's deadline is %v after the start, want its test's wait (10s) from the test's start", d)
	}
	var got []string
	for _, tr := range rep.Tests {
		got = append(got, tr.Name+"="+string(tr.Status))
	}
	if w := "both=passed|one-fails=warning|src-fails=failed|steps-fail=failed|after=skipped"; strings.Join(got, "|") != w {
		t.Errorf("results %s, want %s", strings.Join(got, "|"), w)
	}
	if strings.Join(progress, ",") != "both,one-fails,src-fails,steps-fail,after" {
		t.Errorf("progress %v", progress)
	}
	if rep.Passed != 1 || rep.Warned != 1 || rep.Failed != 2 || rep.Skipped != 1 || rep.ExitCode() != ExitFailed {
		t.Errorf("report %+v, exit %d", rep, rep.ExitCode())
	}
	var b bytes.Buffer
	for _, tr := range rep.Tests {
		WriteTest(&b, tr, 10)
	}
	rep.Seconds = 1.5
	WriteSummary(&b, rep)
	text := regexpSeconds.ReplaceAllString(b.String(), "0.00s")
	wantText := `✔ both        sessions up  0.00s
    both sessions are up
⚠ one-fails   check lab ping peer2; check src ping peer2  0.00s
    hint: src's side is down
    ✘ check src ping peer2 (0.00s)
      seen: seen on src
✘ src-fails   check src ping peer2  0.00s
    ✘ check src ping peer2 (0.00s)
      seen: seen on src
✘ steps-fail  link lab src down; link lab frr up  0.00s
    step failed: link lab src down: boom
      output of link lab src down
- after       check lab session src (skipped: an earlier test stopped the run)
*** 5 tests: 1 passed, 2 failed, 1 warnings, 1 skipped (0.00s)
`
	if text != wantText {
		t.Errorf("text report:\n%s\nwant:\n%s", text, wantText)
	}
}
