package grade

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func sampleReport(lab string, statuses ...Status) *Report {
	r := &Report{Lab: lab, File: lab + ".yaml", Seconds: 1.25}
	for i, s := range statuses {
		tr := TestResult{Name: []string{"sessions", "prefer-as3", "path", "reach"}[i], Status: s, Seconds: 0.5}
		if s == Failed {
			tr.Message = "set a local-pref on as1ra's link to as3rc"
			tr.Checks = []Result{{Node: "as1ra", Check: "check as1ra prefix 2001:1234:4::/64 best nexthop as3rc", Seen: "best via as2rb"}}
		}
		r.Tests = append(r.Tests, tr)
		switch s {
		case Passed:
			r.Passed++
		case Failed:
			r.Failed++
		case Warning:
			r.Warned++
		case Skipped:
			r.Skipped++
		}
	}
	return r
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		r    *Report
		want int
	}{
		{sampleReport("a", Passed, Passed), ExitPassed},
		{sampleReport("b", Passed, Failed), ExitFailed},
		{sampleReport("c", Passed, Warning), ExitWarnings},
		{sampleReport("d", Warning, Failed, Skipped), ExitFailed},
		{sampleReport("e"), ExitNoTest},
	} {
		if got := c.r.ExitCode(); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.r.Lab, got, c.want)
		}
	}
}

// JUnit: a suite per report, a failure per failed test with its hint and
// what it saw, skipped tests marked so; CI systems read it.
func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sampleReport("alice", Passed, Failed), sampleReport("bob", Passed, Warning, Skipped)); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	if len(got.Suites) != 2 || got.Suites[0].Name != "alice" || got.Suites[0].Tests != 2 || got.Suites[0].Failures != 1 ||
		got.Suites[1].Skipped != 1 || got.Suites[0].Time != "1.250" {
		t.Fatalf("suites: %+v", got.Suites)
	}
	f := got.Suites[0].Cases[1].Failure
	if f == nil || f.Message != "set a local-pref on as1ra's link to as3rc" || !strings.Contains(f.Text, "seen: best via as2rb") {
		t.Errorf("failure: %+v", f)
	}
	if got.Suites[1].Cases[2].Skipped == nil || got.Suites[1].Cases[1].Failure != nil {
		t.Errorf("bob's cases: %+v", got.Suites[1].Cases)
	}
}

// The batch's table and CSV.
func TestBatchReports(t *testing.T) {
	subs := []Submission{
		{File: "subs/alice.yaml", Report: sampleReport("alice.yaml", Passed, Passed, Passed, Passed)},
		{File: "subs/bob.yaml", Report: sampleReport("bob.yaml", Passed, Failed, Failed, Passed)},
		{File: "subs/carol.yaml", Report: sampleReport("carol.yaml", Passed, Warning, Passed, Passed)},
		{File: "subs/dave.yaml", Error: "dave.yaml:3:5: unknown field \"asn\"\n    3 | asn: 1"},
	}
	var b bytes.Buffer
	WriteBatch(&b, subs, 4)
	want := `SUBMISSION       PASSED   FAILED TESTS
subs/alice.yaml  4/4
subs/bob.yaml    2/4      prefer-as3, path
subs/carol.yaml  4/4
subs/dave.yaml   0/4      not graded: dave.yaml:3:5: unknown field "asn"
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteBatchCSV(&b, subs, []string{"sessions", "prefer-as3", "path", "reach"}); err != nil {
		t.Fatal(err)
	}
	want = `submission,passed,total,sessions,prefer-as3,path,reach,error
subs/alice.yaml,4,4,passed,passed,passed,passed,
subs/bob.yaml,2,4,passed,failed,failed,passed,
subs/carol.yaml,4,4,passed,warning,passed,passed,
subs/dave.yaml,0,4,,,,,"dave.yaml:3:5: unknown field ""asn""
    3 | asn: 1"
`
	if b.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), want)
	}
}
