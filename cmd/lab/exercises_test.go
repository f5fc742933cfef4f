package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lab/grade"
	"lab/topo"
)

// TestExercises runs every exercise of exercises/ twice, as CI must (see
// exercises/README.md for a folder's files):
//
//   - as handed to students (lab.yaml, nothing done): the tests listed in
//     handout-fails.txt fail, each with its hint, and every other test
//     passes. A test the solution fixes that passed here would be a check
//     that cannot fail.
//   - with the solution (solution.yaml instead of lab.yaml, and/or the
//     shell lines of solution.txt typed first): every test passes.
func TestExercises(t *testing.T) {
	needRootT(t)
	dirs, err := filepath.Glob(filepath.Join("..", "..", "exercises", "*", "exercise.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no exercise: %v", err)
	}
	for _, ex := range dirs {
		dir := filepath.Dir(ex)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			// Two labs at a time on two cores: a failing test of a
			// handout waits its `wait` out, idle.
			t.Parallel()
			x, err := topo.LoadExercise(ex)
			if err != nil {
				t.Fatalf("%s: %v", ex, err)
			}
			fails := readLines(t, filepath.Join(dir, "handout-fails.txt"))
			if len(fails) == 0 {
				t.Fatalf("%s: no test fails as handed out (handout-fails.txt): the exercise asks nothing", dir)
			}
			hints := map[string]string{}
			for _, tt := range x.Tests {
				hints[tt.Name] = tt.Fail
			}
			for _, f := range fails {
				h, ok := hints[f]
				if !ok {
					t.Fatalf("handout-fails.txt: no test %q in %s", f, ex)
				}
				if h == "" {
					t.Errorf("test %q fails as handed out but has no hint (fail:)", f)
				}
			}

			t.Run("handout", func(t *testing.T) {
				l := newTestLab(t)
				out, errs, code := l.run(nil, "test", "--name", l.name, "--json", ex)
				rep := decodeReport(t, out, errs)
				if code != grade.ExitFailed {
					t.Errorf("exit %d, want %d (a test failed)", code, grade.ExitFailed)
				}
				for _, r := range rep.Tests {
					want := grade.Passed
					if slices.Contains(fails, r.Name) {
						want = grade.Failed
					}
					if r.Status != want {
						t.Errorf("test %s: %s, want %s: %s", r.Name, r.Status, want, seen(r))
					}
					if want == grade.Failed && r.Message != hints[r.Name] {
						t.Errorf("test %s: message %q, want its hint %q", r.Name, r.Message, hints[r.Name])
					}
				}
				if len(rep.Tests) != len(x.Tests) {
					t.Errorf("%d tests ran, the file has %d", len(rep.Tests), len(x.Tests))
				}
			})

			t.Run("solution", func(t *testing.T) {
				l := newTestLab(t)
				file := filepath.Join(dir, "lab.yaml")
				if _, err := os.Stat(filepath.Join(dir, "solution.yaml")); err == nil {
					file = filepath.Join(dir, "solution.yaml")
				}
				l.must("up", "-d", "--name", l.name, file)
				defer l.run(nil, "down", l.name)
				if lines := readLines(t, filepath.Join(dir, "solution.txt")); len(lines) > 0 {
					l.must(append([]string{"cmd", l.name}, lines...)...)
				}
				out, errs, code := l.run(nil, "test", "--lab", l.name, "--json", ex)
				rep := decodeReport(t, out, errs)
				for _, r := range rep.Tests {
					if r.Status != grade.Passed {
						t.Errorf("test %s: %s: %s", r.Name, r.Status, seen(r))
					}
				}
				if code != grade.ExitPassed || len(rep.Tests) != len(x.Tests) {
					t.Errorf("exit %d, %d tests of %d", code, len(rep.Tests), len(x.Tests))
				}
			})
		})
	}
}

// readLines reads a file's lines, without blank lines and # comments; no
// file is no line.
func readLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if ln := strings.TrimSpace(sc.Text()); ln != "" && !strings.HasPrefix(ln, "#") {
			out = append(out, ln)
		}
	}
	return out
}

func decodeReport(t *testing.T, out, errs string) grade.Report {
	t.Helper()
	var rep grade.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("lab test --json: %v:\n%s%s", err, out, errs)
	}
	return rep
}

// seen is what a test's failed steps and checks found.
func seen(r grade.TestResult) string {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, s := range r.Steps {
		if !s.OK {
			b.WriteString("; step " + s.Line + ": " + s.Error)
		}
	}
	for _, c := range r.Checks {
		if !c.Passed {
			b.WriteString("; " + c.Check + ": " + c.Seen)
		}
	}
	return b.String()
}
