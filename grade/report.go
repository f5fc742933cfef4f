package grade

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Marks of the text report.
var marks = map[Status]string{Passed: "✔", Failed: "✘", Warning: "⚠", Skipped: "-"}

// WriteTest prints one test's line, as `lab test` does: its mark, name
// (padded to width), description and time; then, on failure, the hint,
// the step that failed, and what each failed check saw instead; on
// success, the test's pass text.
func WriteTest(w io.Writer, tr TestResult, width int) {
	desc := tr.Description
	if tr.Status == Skipped {
		fmt.Fprintf(w, "%s %-*s  %s (skipped: an earlier test stopped the run)\n", marks[tr.Status], width, tr.Name, desc)
		return
	}
	fmt.Fprintf(w, "%s %-*s  %s  %.2fs\n", marks[tr.Status], width, tr.Name, desc, tr.Seconds)
	indent := strings.Repeat(" ", 4)
	if tr.Status == Passed {
		if tr.Message != "" {
			fmt.Fprintf(w, "%s%s\n", indent, tr.Message)
		}
		return
	}
	if tr.Message != "" {
		fmt.Fprintf(w, "%shint: %s\n", indent, tr.Message)
	}
	for _, s := range tr.Steps {
		if !s.OK {
			fmt.Fprintf(w, "%sstep failed: %s: %s\n", indent, s.Line, s.Error)
			for _, l := range strings.Split(strings.TrimRight(s.Output, "\n"), "\n") {
				if l != "" {
					fmt.Fprintf(w, "%s  %s\n", indent, l)
				}
			}
		}
	}
	for _, c := range tr.Checks {
		if !c.Passed {
			fmt.Fprintf(w, "%s✘ %s (%.2fs)\n", indent, c.Check, c.Seconds)
			if c.Seen != "" {
				fmt.Fprintf(w, "%s  seen: %s\n", indent, c.Seen)
			}
		}
	}
}

// WriteSummary prints the run's last line.
func WriteSummary(w io.Writer, r *Report) {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.Passed, "passed")
	add(r.Failed, "failed")
	add(r.Warned, "warnings")
	add(r.Skipped, "skipped")
	fmt.Fprintf(w, "*** %d tests: %s (%.2fs)\n", len(r.Tests), strings.Join(parts, ", "), r.Seconds)
}

// WriteJSON writes the report as one JSON document.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// JUnit's XML, as CI systems read it.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes reports as JUnit XML: a test suite per report (a lab,
// or a submission), a test case per test; a warning is a case that passed
// with its hint in its output.
func WriteJUnit(w io.Writer, reps ...*Report) error {
	var out junitSuites
	for _, r := range reps {
		s := junitSuite{Name: r.Lab, Tests: len(r.Tests), Failures: r.Failed, Skipped: r.Skipped, Time: secs(r.Seconds)}
		for _, t := range r.Tests {
			c := junitCase{Name: t.Name, ClassName: r.Lab, Time: secs(t.Seconds)}
			var b strings.Builder
			WriteTest(&b, t, len(t.Name))
			switch t.Status {
			case Failed:
				c.Failure = &junitFailure{Message: firstLine(t.Message, t.Description), Type: "check", Text: b.String()}
			case Skipped:
				c.Skipped = &struct{}{}
			default:
				c.SystemOut = b.String()
			}
			s.Cases = append(s.Cases, c)
		}
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

func firstLine(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			l, _, _ := strings.Cut(s, "\n")
			return l
		}
	}
	return "failed"
}

// Submission is one graded submission of a batch.
type Submission struct {
	// File is the submission's topology file.
	File string `json:"file"`
	// Error says why it could not be graded (a bad file, a lab that did
	// not start); Report is nil then.
	Error  string  `json:"error,omitempty"`
	Report *Report `json:"report,omitempty"`
}

// Score returns the tests passed (a warning counts as passed) and run.
func (s *Submission) Score() (passed, total int) {
	if s.Report == nil {
		return 0, 0
	}
	return s.Report.Passed + s.Report.Warned, len(s.Report.Tests)
}

// FailedTests names the tests the submission failed (or skipped).
func (s *Submission) FailedTests() []string {
	var out []string
	if s.Report != nil {
		for _, t := range s.Report.Tests {
			if t.Status == Failed || t.Status == Skipped {
				out = append(out, t.Name)
			}
		}
	}
	return out
}

// WriteBatch prints the batch's summary table: a line per submission,
// its passed/total and the tests it failed (or why it could not be
// graded).
func WriteBatch(w io.Writer, subs []Submission, total int) {
	width := len("SUBMISSION")
	for _, s := range subs {
		width = max(width, len(s.File))
	}
	fmt.Fprintf(w, "%-*s  %-7s  %s\n", width, "SUBMISSION", "PASSED", "FAILED TESTS")
	for _, s := range subs {
		p, n := s.Score()
		if s.Report == nil {
			n = total
		}
		failed := strings.Join(s.FailedTests(), ", ")
		if s.Error != "" {
			first, _, _ := strings.Cut(s.Error, "\n")
			failed = "not graded: " + first
		}
		line := fmt.Sprintf("%-*s  %-7s  %s", width, s.File, fmt.Sprintf("%d/%d", p, n), failed)
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

// WriteBatchCSV writes the batch as CSV: submission, passed, total, then
// a column per test (passed, failed, warning, skipped), then the error.
func WriteBatchCSV(w io.Writer, subs []Submission, tests []string) error {
	cw := csv.NewWriter(w)
	cw.Write(append(append([]string{"submission", "passed", "total"}, tests...), "error"))
	for _, s := range subs {
		p, n := s.Score()
		if s.Report == nil {
			n = len(tests)
		}
		row := []string{s.File, strconv.Itoa(p), strconv.Itoa(n)}
		status := map[string]Status{}
		if s.Report != nil {
			for _, t := range s.Report.Tests {
				status[t.Name] = t.Status
			}
		}
		for _, t := range tests {
			row = append(row, string(status[t]))
		}
		cw.Write(append(row, s.Error))
	}
	cw.Flush()
	return cw.Error()
}
