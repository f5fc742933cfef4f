package topo

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Every check of a validate: section, in its long form and its short one
// (a scalar for the first field), decoded into the model.
func TestValidateSection(t *testing.T) {
	lab, err := Load("testdata/validate/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Test{}
	var names []string
	for _, tt := range lab.Tests {
		byName[tt.Name] = tt
		names = append(names, tt.Name)
	}
	if got := strings.Join(names, " "); got != "session session-short prefix prefix-short aspath-words aspath-regex aspath-empty route route-short ping ping-short path notification notification-short log steps step" {
		t.Fatalf("tests in order: %s", got)
	}
	u := func(v uint32) *uint32 { return &v }
	a := netip.MustParseAddr
	p := netip.MustParsePrefix
	opts := []cmp.Option{cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmpopts.IgnoreFields(Test{}, "Pos"),
		cmpopts.IgnoreFields(Check{}, "Pos"), cmpopts.IgnoreFields(Step{}, "Pos")}
	for name, want := range map[string]*Test{
		"session": {Name: "session", Description: "r1's sessions", Nodes: []string{"r1"}, Wait: 10 * time.Second, StopOnError: true,
			Pass: "up", Fail: "check the link",
			Check: &Check{Session: &SessionCheck{Neighbor: Target{Node: "r2"}, State: "established", Family: IPv4}}},
		"session-short": {Name: "session-short", Nodes: []string{"r1"}, Check: &Check{Session: &SessionCheck{Neighbor: Target{Node: "r2"}, State: "established"}}},
		"prefix": {Name: "prefix", Nodes: []string{"r1"}, Wait: 1500 * time.Millisecond, Check: &Check{Prefix: &PrefixCheck{
			Prefix: p("10.2.0.0/24"), Best: true, NextHop: &Target{Node: "r2"}, LocalPref: u(100), MED: u(0),
			ASPath: &ASPathMatch{ASNs: []uint32{2}}, Communities: []uint32{2<<16 | 1, 0xFFFFFF01}, LargeCommunities: [][3]uint32{{2, 1, 1}},
			Origin: "igp", Peer: &Target{Node: "r2"}}}},
		"prefix-short": {Name: "prefix-short", Nodes: []string{"r1"}, Check: &Check{Prefix: &PrefixCheck{Prefix: p("10.2.0.0/24")}}},
		"aspath-words": {Name: "aspath-words", Nodes: []string{"r1"}, Check: &Check{Prefix: &PrefixCheck{Prefix: p("10.2.0.0/24"), ASPath: &ASPathMatch{ASNs: []uint32{2}}}}},
		"aspath-regex": {Name: "aspath-regex", Nodes: []string{"r1"}, Check: &Check{Prefix: &PrefixCheck{Prefix: p("10.2.0.0/24"), ASPath: &ASPathMatch{Regex: "^2_"}}}},
		"aspath-empty": {Name: "aspath-empty", Nodes: []string{"r1"}, Check: &Check{Prefix: &PrefixCheck{Prefix: p("10.1.0.0/24"), ASPath: &ASPathMatch{ASNs: []uint32{}}}}},
		"route":        {Name: "route", Nodes: []string{"h1"}, Check: &Check{Route: &RouteCheck{Prefix: p("0.0.0.0/0"), Via: &Target{Iface: "r1-eth1"}, Missing: true}}},
		"route-short":  {Name: "route-short", Nodes: []string{"r1"}, Check: &Check{Route: &RouteCheck{Prefix: p("10.2.0.0/24")}}},
		"ping":         {Name: "ping", Nodes: []string{"h1"}, Warning: true, Check: &Check{Ping: &PingCheck{To: Target{Addr: a("10.2.0.11")}, Family: IPv4, Fail: true}}},
		"ping-short":   {Name: "ping-short", Nodes: []string{"h1"}, Check: &Check{Ping: &PingCheck{To: Target{Node: "h2"}}}},
		"path":         {Name: "path", Nodes: []string{"h1"}, Check: &Check{Path: &PathCheck{To: "h2", Via: []string{"r1", "r2"}, Family: IPv4}}},
		"notification": {Name: "notification", Nodes: []string{"r1"}, Check: &Check{Notification: &NotificationCheck{Neighbor: Target{Node: "r2"}, Dir: "received", Code: 6, Subcode: 2}}},
		"notification-short": {Name: "notification-short", Nodes: []string{"r1"},
			Check: &Check{Notification: &NotificationCheck{Neighbor: Target{Node: "r2"}, Code: -1, Subcode: -1}}},
		"log":   {Name: "log", Nodes: []string{"r2"}, Check: &Check{Log: &LogCheck{Regex: "ADJCHANGE.*Up"}}},
		"steps": {Name: "steps", Do: []Step{{Line: "link r1 r2 down"}, {Line: "h1 ping -c1 h2"}}},
		"step":  {Name: "step", Do: []Step{{Line: "link r1 r2 up"}}},
	} {
		if diff := cmp.Diff(want, byName[name], opts...); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if tt := byName["prefix"]; tt.Pos.Line != 23 || tt.Check.Pos.Line != 25 || tt.Check.Kind() != "prefix" {
		t.Errorf("positions: test at %v, check at %v", tt.Pos, tt.Check.Pos)
	}
}

// An exercise file names its topology; its tests bind to that lab, or to
// another (a submission) when its nodes are there; its problems have
// their places.
func TestLoadExercise(t *testing.T) {
	x, err := LoadExercise("testdata/validate/exercise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if x.Topology != "testdata/validate/lab.yaml" || x.Lab.Name != "checked" || x.Description != "the two routers" || len(x.Tests) != 2 || len(x.Lab.Tests) != 17 {
		t.Fatalf("exercise: %+v", x)
	}
	// A topology file with tests is an exercise of its own.
	y, err := LoadExercise("testdata/validate/lab.yaml")
	if err != nil || y.Topology != y.File || len(y.Tests) != 17 {
		t.Fatalf("a topology file's tests: %v, %+v", err, y)
	}
	other, err := Load("testdata/validate/other.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = x.Bind(other)
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 2 || !errors.Is(err, ErrReference) {
		t.Fatalf("binding to a lab without r2 and h2: %v", err)
	}
	if e := el[0]; e.Pos.File != "testdata/validate/exercise.yaml" || e.Pos.Line != 7 || e.Pos.Col != 14 ||
		e.Msg != `neighbor of the session check of test "up": "r2" is not a node's name or an address of the lab` {
		t.Errorf("first error: %v", e)
	}
	// lab.yaml's own tests bound to the other lab: their errors are in
	// lab.yaml.
	if _, err := y.Bind(other); err == nil || !strings.Contains(err.Error(), "testdata/validate/lab.yaml:") {
		t.Errorf("lab.yaml's tests on other.yaml: %v", err)
	}
	for file, want := range map[string]string{
		"no-tests.yaml":     "no-tests.yaml:1:1: the exercise has no `validate:` section: it has nothing to test",
		"bad-topology.yaml": "topology: open testdata/validate/lab.yml: no such file or directory",
		"bad-exercise.yaml": `bad-exercise.yaml:1:11: expected a topology file's path for the exercise's topology, got a list` + "\n" +
			`testdata/validate/bad-exercise.yaml:2:1: unknown field "title" in the exercise; expected one of: topology, description, validate`,
	} {
		_, err := LoadExercise("testdata/validate/" + file)
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%s: %v\nwant %s", file, err, want)
		}
	}
}
