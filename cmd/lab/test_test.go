package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"lab/grade"
)

// seedFile is the seed topology, absolute: exercise files in temporary
// directories name it.
func seedFile(t *testing.T) string {
	t.Helper()
	f, err := filepath.Abs("../../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// seedExercise is the seed's story as tests: convergence, the table, the
// failure (steps) and the recovery through AS 3, traffic and a warning.
const seedExercise = `topology: %s
validate:
  sessions:
    description: as1ra's sessions come up
    nodes: [as1ra, as4rd]
    session: as2rb
    wait: 20
  table:
    description: as1ra reaches AS 4 through AS 2
    node: as1ra
    prefix: {prefix: "2001:1234:4::/64", best: true, nexthop: as2rb, aspath: [2, 4]}
    wait: 10
    pass: the shortest AS path wins
  break:
    description: as2rb's side of the link goes down
    do: ["link as2rb-eth0 down"]
  failover:
    description: as1ra goes through AS 3
    node: as1ra
    prefix: {prefix: "2001:1234:4::/64", best: true, nexthop: as3rc, aspath: [3, 2, 4]}
    wait: 10
  kernel:
    node: as1ra
    route: {prefix: "2001:1234:4::/64", via: as3rc}
    wait: 5
  traffic:
    node: h1
    path: {to: h4, via: [as1ra, as3rc, as2rb, as4rd]}
    wait: 5
  repair:
    do: ["link as2rb-eth0 up", "wait 20"]
  notification:
    description: a warning
    node: as1ra
    notification: {neighbor: as2rb, received: 4/0}
    level: warning
    fail: no hold timer expired here
`

// lab test FILE: the tests on a lab of their own, one line each, the
// lab gone at the end; the exit codes (3: passed with warnings, 0, 1, 2);
// --list, --json, --junit; lab test --lab NAME on a running lab.
func TestLabTest(t *testing.T) {
	l := newTestLab(t)
	dir := t.TempDir()
	ex := writeFile(t, dir, "seed-test.yaml", fmt.Sprintf(seedExercise, seedFile(t)))

	out := l.must("test", "--list", ex)
	if !strings.Contains(out, "sessions      as1ra's sessions come up: session on as1ra, as4rd (wait 20s)\n") ||
		!strings.Contains(out, "break         as2rb's side of the link goes down: do: link as2rb-eth0 down\n") {
		t.Errorf("--list:\n%s", out)
	}

	start := time.Now()
	out, errs, code := l.run(nil, "test", "--name", l.name, ex)
	t.Logf("lab test (8 tests): %.2fs", time.Since(start).Seconds())
	if code != grade.ExitWarnings {
		t.Fatalf("exit %d, want 3 (passed with warnings)\n%s%s%s", code, out, errs, l.daemonLog())
	}
	text := regexp.MustCompile(`[0-9]+\.[0-9]{2}s`).ReplaceAllString(out, "T")
	for _, want := range []string{
		"*** Testing lab simple-bgp: 8 tests from " + ex + "\n",
		"✔ sessions      as1ra's sessions come up  T\n",
		"✔ table         as1ra reaches AS 4 through AS 2  T\n    the shortest AS path wins\n",
		"✔ break         as2rb's side of the link goes down  T\n",
		"✔ failover      as1ra goes through AS 3  T\n",
		"✔ kernel        check as1ra route 2001:1234:4::/64 via as3rc  T\n",
		"✔ traffic       check h1 path h4 via as1ra as3rc as2rb as4rd  T\n",
		"✔ repair        link as2rb-eth0 up; wait 20  T\n",
		"⚠ notification  a warning  T\n    hint: no hold timer expired here\n    ✘ check as1ra notification as2rb received 4/0 (T)\n      seen: as1ra's session with as2rb: 10.12.0.2: never went down; 2001:12::b: never went down\n",
		"*** 8 tests: 7 passed, 1 warnings (T)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lab test's output lacks %q:\n%s", want, text)
		}
	}
	if _, err := os.Stat(filepath.Join(l.runDir, l.name+".json")); err == nil {
		t.Errorf("the test's lab %s is still there", l.name)
	}

	// Two tests, as JSON and JUnit: they pass (exit 0).
	junit := filepath.Join(dir, "junit.xml")
	out, errs, code = l.run(nil, "test", "--name", l.name, "--json", "--junit", junit, ex, "sessions", "table")
	var rep grade.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v:\n%s%s", code, err, out, errs)
	}
	if len(rep.Tests) != 2 || rep.Passed != 2 || rep.Tests[0].Checks[1].Check != "check as4rd session as2rb" {
		t.Errorf("--json: %+v", rep)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Tests != 2 {
		t.Errorf("--junit: %v: %s", err, b)
	}

	// A failing test: exit 1, the hint and what was seen.
	fail := writeFile(t, dir, "fail.yaml", fmt.Sprintf(`topology: %s
validate:
  wrong:
    node: as1ra
    prefix: {prefix: "2001:1234:4::/64", best: true, nexthop: as3rc}
    wait: 5
    fail: the best path is through AS 2
`, seedFile(t)))
	out, _, code = l.run(nil, "test", "--name", l.name, fail)
	if code != grade.ExitFailed || !strings.Contains(out, "    hint: the best path is through AS 2\n") ||
		!strings.Contains(out, "      seen: as1ra: 2 paths to 2001:1234:4::/64: best (AS Path), via 2001:12::b (as2rb), aspath 2 4; valid, via 2001:13::c (as3rc), aspath 3 2 4\n") {
		t.Errorf("a failing test: exit %d:\n%s", code, out)
	}

	// Bad files and names: exit 2.
	bad := writeFile(t, dir, "bad.yaml", fmt.Sprintf("topology: %s\nvalidate:\n  x: {node: as9, session: as2rb}\n", seedFile(t)))
	_, errs, code = l.run(nil, "test", bad)
	if code != grade.ExitNoTest || !strings.Contains(errs, "bad.yaml:3:13: test \"x\": no node \"as9\" in the lab") {
		t.Errorf("a bad file: exit %d: %s", code, errs)
	}
	_, errs, code = l.run(nil, "test", ex, "nosuchtest")
	if code != grade.ExitNoTest || !strings.Contains(errs, `has no test "nosuchtest"; it has: sessions, table, break`) {
		t.Errorf("an unknown test: exit %d: %s", code, errs)
	}
	_, _, code = l.run(nil, "test", seedFile(t))
	if code != grade.ExitNoTest {
		t.Errorf("a topology without tests: exit %d", code)
	}

	// On a running lab.
	l.up("topologies/simple-bgp.yaml")
	defer l.must("down", l.name)
	out, errs, code = l.run(nil, "test", "--lab", l.name, ex, "sessions", "table")
	if code != 0 || !strings.Contains(out, "✔ table") {
		t.Errorf("lab test --lab: exit %d:\n%s%s", code, out, errs)
	}
}

// check in a piped script and in lab cmd: a failed check fails the run.
func TestCheckInScripts(t *testing.T) {
	l := newTestLab(t)
	script := strings.NewReader(`check as1ra session as2rb wait 20
check as1ra prefix 2001:1234:4::/64 best nexthop as2rb aspath 2 4 wait 10
check h1 ping h4 wait 5
check as1ra prefix 2001:1234:4::/64 best nexthop as3rc
check as1ra log ADJCHANGE: neighbor 2001:12::b Up
`)
	out, errs, code := l.run(script, "run", "--name", l.name, seedFile(t))
	if code != 1 {
		t.Errorf("a script with a failed check: exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"✔ check as1ra session as2rb (",
		"✔ check as1ra prefix 2001:1234:4::/64 best nexthop as2rb aspath 2 4 (",
		"), via 2001:12::b (as2rb), aspath 2 4\n",
		"✔ check h1 ping h4 (",
		"✘ check as1ra prefix 2001:1234:4::/64 best nexthop as3rc (",
		"✔ check as1ra log ADJCHANGE: neighbor 2001:12::b Up (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the script's output lacks %q:\n%s", want, out)
		}
	}
	l.up("topologies/simple-bgp.yaml")
	defer l.must("down", l.name)
	if _, _, code := l.run(nil, "cmd", l.name, "check as1ra session as2rb wait 20"); code != 0 {
		t.Errorf("lab cmd check: exit %d", code)
	}
	if out, _, code := l.run(nil, "cmd", l.name, "check as1ra session as2rb down"); code != 1 || !strings.Contains(out, "✘ check as1ra session as2rb down") {
		t.Errorf("lab cmd with a failed check: exit %d: %s", code, out)
	}
	out, _, code = l.run(nil, "cmd", "--json", l.name, "check as1ra prefix 2001:1234:4::/64 best wait 10")
	var r grade.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || !r.Passed || r.Node != "as1ra" {
		t.Errorf("lab cmd --json check: exit %d, %v: %s", code, err, out)
	}
}

// submissionsExercise is the batch's exercise: as1ra must prefer AS 3
// to reach AS 4.
const submissionsExercise = `topology: %s
validate:
  sessions:
    description: as1ra's sessions with as3rc are up
    node: as1ra
    session: as3rc
    wait: 5
  prefer-as3:
    description: as1ra reaches AS 4 through AS 3
    node: as1ra
    prefix: {prefix: "2001:1234:4::/64", best: true, nexthop: as3rc}
    wait: 3
    fail: as1ra still prefers AS 2
  traffic:
    node: h1
    path: {to: h4, via: [as3rc]}
    wait: 3
  reach:
    node: h1
    ping: h4
    wait: 5
`

// seedText is the seed topology with extra lines after the addresses of
// the link between a and b.
func seedText(t *testing.T, a, b, extra string) string {
	t.Helper()
	data, err := os.ReadFile(seedFile(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "  - endpoints: ["+a+", "+b+"]")
	j := strings.Index(s[i:], "      "+b+": [")
	k := strings.Index(s[i+j:], "\n")
	if i < 0 || j < 0 || k < 0 {
		t.Fatalf("no link %s-%s in the seed topology", a, b)
	}
	at := i + j + k + 1
	return s[:at] + extra + "\n" + s[at:]
}

// lab test --batch: ten generated submissions, right and wrong, graded
// two at a time into the expected table.
func TestLabTestBatch(t *testing.T) {
	l := newTestLab(t)
	dir := t.TempDir()
	ex := writeFile(t, dir, "exercise.yaml", fmt.Sprintf(submissionsExercise, seedFile(t)))
	subs := filepath.Join(dir, "submissions")
	if err := os.Mkdir(subs, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"alice": seedText(t, "as1ra", "as3rc", "    bgp: {as1ra: {local-pref: 200}}"),
		"bob":   seedText(t, "as1ra", "as3rc", ""),
		"carol": seedText(t, "as1ra", "as2rb", "    bgp: {as1ra: {local-pref: 50}}"),
		"dave":  seedText(t, "as1ra", "as2rb", "    bgp: {as2rb: {prepend: 2}}"),
		"erin":  seedText(t, "as1ra", "as2rb", "    bgp: {as1ra: {local-pref: 200}}"),
		"frank": seedText(t, "as1ra", "as3rc", "    bgp: {as1ra: {remote-as: 5}}"),
		"grace": seedText(t, "as1ra", "as3rc", "    bgp: {as1ra: {weight: 100}}"),
		"heidi": seedText(t, "as1ra", "as3rc", "    bgp: {as1ra: {local-prf: 200}}"),
		"ivan":  seedText(t, "as1ra", "as3rc", "    bgp: {as1ra: {med: 10}}"),
		"judy":  strings.ReplaceAll(seedText(t, "as1ra", "as3rc", "    bgp: {as1ra: {local-pref: 200}}"), "h4", "h5"),
	} {
		writeFile(t, subs, name+".yaml", text)
	}
	start := time.Now()
	out, errs, code := l.run(nil, "test", "--batch", subs, "--name", l.name, ex)
	wall := time.Since(start)
	t.Logf("lab test --batch, 10 submissions: %.2fs\n%s", wall.Seconds(), errs)
	if code != grade.ExitFailed {
		t.Errorf("exit %d, want 1 (some submissions failed)", code)
	}
	want := `SUBMISSION                  PASSED   FAILED TESTS
S/alice.yaml  4/4
S/bob.yaml    2/4      prefer-as3, traffic
S/carol.yaml  4/4
S/dave.yaml   4/4
S/erin.yaml   2/4      prefer-as3, traffic
S/frank.yaml  1/4      sessions, prefer-as3, traffic
S/grace.yaml  4/4
S/heidi.yaml  0/4      not graded: S/heidi.yaml:56:19: unknown field "local-prf" in the bgp settings of as1ra on link 2; expected one of: local-pref, med, prepend, weight, policy, max-prefix, passive, shutdown, password, remote-as, default-originate, allowas-in, leak (did you mean "local-pref"?)
S/ivan.yaml   2/4      prefer-as3, traffic
S/judy.yaml   0/4      not graded: the exercise's tests do not apply to it: E:16:16: to of the path check of test "traffic": no node "h4" in the lab
`
	got := strings.ReplaceAll(strings.ReplaceAll(out, subs, "S"), ex, "E")
	// Columns: the file names are as long as the directory's.
	got = regexp.MustCompile(` +`).ReplaceAllString(got, " ")
	want = regexp.MustCompile(` +`).ReplaceAllString(want, " ")
	if got != want {
		t.Errorf("the batch's table:\n%s\nwant:\n%s", got, want)
	}
	if n := strings.Count(errs, "*** "+subs+"/"); n != 10 {
		t.Errorf("%d progress lines, want 10:\n%s", n, errs)
	}
}

// The hold-timer lab's own tests: a blackhole, the hold timer's
// NOTIFICATION (4/0) within 20 s, the detour, the recovery.
func TestHoldTimerTests(t *testing.T) {
	l := newTestLab(t)
	out, errs, code := l.run(nil, "test", "--name", l.name, "../../topologies/hold-timer.yaml")
	if code != 0 || strings.Count(out, "✔ ") != 7 {
		t.Errorf("lab test topologies/hold-timer.yaml: exit %d:\n%s%s%s", code, out, errs, l.daemonLog())
	}
}

// A check after `link A B down` passes when the routers have moved, not
// when the hold timer ends the sessions over the dead link: what was sent
// into it is never received, and that session must not keep the lab from
// settling. Exercise 05's solved lab with the default timers (hold 180
// s): its "backup" test takes the link down and checks the kernel route.
func TestCheckAfterLinkDown(t *testing.T) {
	l := newTestLab(t)
	dir := t.TempDir()
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "exercises", "05-med", f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	lab := strings.Replace(read("solution.yaml"), "keepalive: 3, hold: 9", "keepalive: 60, hold: 180", 1)
	if !strings.Contains(lab, "hold: 180") {
		t.Fatal("exercises/05-med/solution.yaml's timers moved")
	}
	writeFile(t, dir, "lab.yaml", lab)
	ex := writeFile(t, dir, "exercise.yaml", read("exercise.yaml"))
	out, errs, code := l.run(nil, "test", "--name", l.name, "--json", ex)
	var rep grade.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || len(rep.Tests) != 8 {
		t.Fatalf("exit %d, %v:\n%s%s", code, err, out, errs)
	}
	// A check that finds what it wants on a lab that has not settled
	// tries again until its wait (10 s) runs out, and is taken as it is
	// then: a lab that never settles shows as a check that ran into its
	// deadline, though it passed.
	if r := rep.Tests[6]; r.Name != "backup" || r.Seconds >= 10 {
		t.Errorf("the check after the link went down ran into its deadline (%s: %.1fs, %d tries): the lab never settled", r.Name, r.Seconds, r.Checks[0].Tries)
	}
}
