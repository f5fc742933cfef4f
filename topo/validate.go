package topo

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"lab/cli/grammar"
)

// This file is the `validate:` section: a lab's tests, in a topology file
// or in an exercise file that names one (`topology:`), decoded and
// resolved against the lab into Tests. lab/grade runs them.

// Test is one test of a `validate:` section: steps to run (shell command
// lines), then one typed check on one or more nodes, retried until it
// passes or its wait runs out.
type Test struct {
	// Name is the test's key in the section.
	Name string
	Pos  Pos
	// Description says what the test checks, for the report.
	Description string
	// Nodes are the nodes the check runs on, in order (`node:` or
	// `nodes:`); none for a test of steps only.
	Nodes []string
	// Do are shell command lines run before the check, in order: the
	// scenario's steps (`do:`), as typed in the lab's shell.
	Do []Step
	// Check is the typed check; nil for a test of steps only.
	Check *Check
	// Wait is how long the check is retried until it passes, counted from
	// the test's start (its steps included); 0 checks once.
	Wait time.Duration
	// StopOnError ends the run when the test fails: the tests after it
	// depend on it.
	StopOnError bool
	// Pass and Fail are what the report says when the test passes or
	// fails: the hint a student sees.
	Pass, Fail string
	// Warning makes a failure a warning (`level: warning`): the run then
	// passes with warnings.
	Warning bool
}

// Step is a shell command line of a test.
type Step struct {
	Line string
	Pos  Pos
}

// Check is one typed check; exactly one of its pointers is set.
type Check struct {
	Session      *SessionCheck
	Prefix       *PrefixCheck
	Route        *RouteCheck
	Ping         *PingCheck
	Path         *PathCheck
	Notification *NotificationCheck
	Log          *LogCheck
	Pos          Pos
}

// CheckKinds are the check types, in the order the format lists them.
var CheckKinds = []string{"session", "prefix", "route", "ping", "path", "notification", "log"}

// Kind names the check's type ("prefix").
func (c *Check) Kind() string {
	switch {
	case c.Session != nil:
		return "session"
	case c.Prefix != nil:
		return "prefix"
	case c.Route != nil:
		return "route"
	case c.Ping != nil:
		return "ping"
	case c.Path != nil:
		return "path"
	case c.Notification != nil:
		return "notification"
	case c.Log != nil:
		return "log"
	}
	return ""
}

// OnRouter reports whether the check reads a router's BGP state (and so
// runs on routers only).
func (c *Check) OnRouter() bool {
	return c.Session != nil || c.Prefix != nil || c.Notification != nil || c.Log != nil
}

// Target is what a check points at: a node (by name), an address, or an
// interface (`via` of a route check only). Exactly one is set.
type Target struct {
	Node  string
	Addr  netip.Addr
	Iface string
}

func (t Target) String() string {
	switch {
	case t.Node != "":
		return t.Node
	case t.Iface != "":
		return t.Iface
	}
	return t.Addr.String()
}

// Session states a session check accepts: the FSM's states (FRR's words
// in lower case), and "down" for any state but Established.
var SessionStates = []string{"established", "down", "idle", "connect", "active", "opensent", "openconfirm"}

// SessionCheck is `session: {neighbor, state, family}`: the node's BGP
// session(s) with the neighbour are in the state.
type SessionCheck struct {
	Neighbor Target
	// State is one of SessionStates ("established" when not written).
	State string
	// Family limits the check to the session of one family (0: every
	// session with the neighbour).
	Family Family
}

// PrefixCheck is `prefix: {...}` on a router's BGP table: some path to
// Prefix has every attribute given (and is the best one, with Best);
// Missing turns it around: no path has them.
type PrefixCheck struct {
	Prefix  netip.Prefix
	Missing bool
	Best    bool
	NextHop *Target
	// LocalPref and MED are nil when not checked.
	LocalPref, MED *uint32
	// ASPath is the AS path, exactly, or a regular expression.
	ASPath *ASPathMatch
	// Communities and LargeCommunities must all be on the path (others
	// may be too).
	Communities      []uint32
	LargeCommunities [][3]uint32
	// Origin is "igp", "egp", "incomplete", or "" (not checked).
	Origin string
	// Peer is the neighbour the path was learnt from.
	Peer *Target
}

// ASPathMatch is an AS path check: the ASNs in order (none: the empty
// path of a local or iBGP route), or a regular expression over the path
// as FRR prints it ("2 4") in FRR's syntax (ASPathRegexp).
type ASPathMatch struct {
	ASNs  []uint32
	Regex string
}

// RouteCheck is `route: {prefix, via, state}` on a node's kernel table:
// a route to Prefix (exactly) exists, through Via when given.
type RouteCheck struct {
	Prefix  netip.Prefix
	Via     *Target
	Missing bool
}

// PingCheck is `ping: {to, family, expect}`: the node reaches To (or, with
// Fail, does not).
type PingCheck struct {
	To     Target
	Family Family // 0: IPv6 when both ends have it, else IPv4
	Fail   bool
}

// PathCheck is `path: {to, via}`: a traceroute from the node to To goes
// through the Via nodes, in that order (other hops may come between).
type PathCheck struct {
	To     string
	Via    []string
	Family Family
}

// NotificationCheck is `notification: {neighbor, sent|received}`: the
// node's session with the neighbour last went down with a NOTIFICATION
// (sent or received, as given) of that code and subcode.
type NotificationCheck struct {
	Neighbor Target
	// Dir is "sent", "received" or "" (either).
	Dir string
	// Code and Subcode are -1 when not checked.
	Code, Subcode int
}

// LogCheck is `log: REGEX`: a line of the router's BGP log matches.
type LogCheck struct {
	Regex string
}

// Exercise is a set of tests and the topology they test: a topology file
// with a `validate:` section, or an exercise file (`topology: FILE` and
// `validate:`). Its tests can be bound to another lab (a student's
// submission of the same exercise) with Bind.
type Exercise struct {
	// File is the file the tests were read from.
	File string
	// Topology is the topology file: File itself, or the exercise's
	// `topology:` (relative to File's directory).
	Topology string
	// Description is the exercise file's `description:`.
	Description string
	// Lab is the topology's lab, and Tests its tests (also Lab.Tests).
	Lab   *Lab
	Tests []*Test

	data []byte
}

var exerciseFields = []string{"topology", "description", "validate"}

// LoadExercise reads the tests of a topology file with a `validate:`
// section, or of an exercise file, and the lab they test. On failure the
// error is an ErrorList, every problem with its place.
func LoadExercise(path string) (*Exercise, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exercise: %w", err)
	}
	d := newDecoder(path, data)
	doc := d.decodeYAML(data)
	if doc == nil || d.aborted {
		return nil, sortErrors(d.errs)
	}
	root := rootOf(doc)
	if root == nil || keyOf(root, "topology") == nil {
		// A topology file: its tests are the lab's.
		lab, err := Parse(path, data)
		if err != nil {
			return nil, err
		}
		return &Exercise{File: path, Topology: path, Lab: lab, Tests: lab.Tests, data: data}, nil
	}
	x := &Exercise{File: path, data: data}
	f, ok := d.object(root, "the exercise", exerciseFields...)
	if !ok {
		return nil, sortErrors(d.errs)
	}
	if p, ok := f["description"]; ok {
		x.Description, _ = d.scalar(p.val, "the exercise's description", "text")
	}
	if _, ok := f["validate"]; !ok {
		d.errorf(Pos{File: path, Line: root.Line, Col: root.Column}, ErrMissing, "the exercise has no `validate:` section: it has nothing to test")
	}
	if p, ok := f["topology"]; ok {
		if s, ok := d.scalar(p.val, "the exercise's topology", "a topology file's path"); ok {
			x.Topology = s
			if !filepath.IsAbs(s) {
				x.Topology = filepath.Join(filepath.Dir(path), s)
			}
		}
	}
	if len(d.errs) > 0 {
		return nil, sortErrors(d.errs)
	}
	lab, err := Load(x.Topology)
	if err != nil {
		return nil, err
	}
	x.Lab = lab
	if x.Tests, err = x.Bind(lab); err != nil {
		return nil, err
	}
	return x, nil
}

// Bind resolves the exercise's tests against lab (its own, or a
// submission's): their nodes, neighbours and steps must exist there. The
// errors point into the exercise's file.
func (x *Exercise) Bind(lab *Lab) ([]*Test, error) {
	if x.Topology == x.File {
		// The tests are in the topology file: they come from lab's
		// own file when it is that file, else from ours.
		if lab.File == x.File {
			return lab.Tests, nil
		}
	}
	d := newDecoder(x.File, x.data)
	doc := d.decodeYAML(x.data)
	if doc == nil {
		return nil, sortErrors(d.errs)
	}
	var tests []*Test
	if n := keyOf(rootOf(doc), "validate"); n != nil {
		tests = d.decodeValidate(n, lab)
	}
	if len(d.errs) > 0 {
		return nil, sortErrors(d.errs)
	}
	return tests, nil
}

// rootOf returns a document's top mapping, or nil.
func rootOf(doc *yaml.Node) *yaml.Node {
	n := doc
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// keyOf returns the value of key in mapping n, or nil.
func keyOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var (
	testFields = append([]string{"description", "node", "nodes", "do", "wait", "stop_on_error", "pass", "fail", "level"}, CheckKinds...)
	testNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// The topology's `validate:` key: decodeLab accepts it and leaves it to
// validateTests, called once the lab is built.
func init() { labFields = append(labFields, "validate") }

// validateTests decodes the topology's own `validate:` section into
// lab.Tests (ParseAs calls it once the lab is built without error).
func (d *decoder) validateTests(doc *yaml.Node, lab *Lab) {
	if n := keyOf(rootOf(doc), "validate"); n != nil && lab != nil {
		lab.Tests = d.decodeValidate(n, lab)
	}
}

// decodeValidate decodes a `validate:` section: an ordered mapping of
// tests by name.
func (d *decoder) decodeValidate(n *yaml.Node, lab *Lab) []*Test {
	pairs, ok := d.mapping(n, "the validate section")
	if !ok {
		return nil
	}
	names := GrammarLab(lab)
	var tests []*Test
	for _, p := range pairs {
		name := p.key.Value
		if !testNameRE.MatchString(name) {
			d.nodeErr(p.key, ErrValue, "invalid test name %q: expected letters, digits, '-', '_' or '.', starting with a letter or digit", name)
			continue
		}
		if t := d.decodeTest(p, lab, names); t != nil {
			tests = append(tests, t)
		}
	}
	if len(tests) == 0 && len(d.errs) == 0 {
		d.nodeErr(n, ErrMissing, "the validate section has no test")
	}
	return tests
}

// GrammarLab is the lab as the shell's grammar reads words: its nodes,
// which routers run the lab's speaker, its interfaces and what they
// connect to (a test's steps are read so).
func GrammarLab(lab *Lab) *grammar.Lab {
	var nodes []grammar.LabNode
	for _, n := range lab.Nodes() {
		ln := grammar.LabNode{Name: n.Name, Kind: n.Kind.String()}
		if r := n.Router(); r != nil {
			ln.Speaker = !r.External
		}
		for _, i := range n.Interfaces {
			var peers []string
			if i.Link != nil {
				if l := i.Link.LAN; l != nil && l.Iface == i {
					for _, k := range l.Links {
						peers = append(peers, k.Other(i).Name)
					}
				} else {
					peers = append(peers, i.Link.Other(i).Name)
				}
			}
			ln.Interfaces = append(ln.Interfaces, grammar.LabIface{Name: i.Name, Peer: strings.Join(peers, ",")})
		}
		nodes = append(nodes, ln)
	}
	return grammar.NewLab(nodes)
}

func (d *decoder) decodeTest(p kv, lab *Lab, names *grammar.Lab) *Test {
	t := &Test{Name: p.key.Value, Pos: d.pos(p.key)}
	what := fmt.Sprintf("test %q", t.Name)
	f, ok := d.object(p.val, what, testFields...)
	if !ok {
		return nil
	}
	text := func(key string, dst *string) {
		if q, ok := f[key]; ok {
			*dst, _ = d.scalar(q.val, key+" of "+what, "text")
		}
	}
	text("description", &t.Description)
	text("pass", &t.Pass)
	text("fail", &t.Fail)
	if q, ok := f["stop_on_error"]; ok {
		t.StopOnError, _ = d.bool(q.val, "stop_on_error of "+what)
	}
	if q, ok := f["level"]; ok {
		if s, ok := d.scalar(q.val, "level of "+what, "error or warning"); ok {
			switch s {
			case "warning":
				t.Warning = true
			case "error":
			default:
				d.nodeErr(q.val, ErrValue, "unknown level %q of %s; expected error or warning", s, what)
			}
		}
	}
	if q, ok := f["wait"]; ok {
		t.Wait, _ = d.waitSeconds(q.val, "wait of "+what)
	}
	if q, ok := f["do"]; ok {
		items, _ := d.list(q.val, "do of "+what)
		for _, it := range items {
			s, ok := d.scalar(it, "a step of "+what, "a shell command line")
			if !ok {
				continue
			}
			if _, err := grammar.Shell.Parse(names, s); err != nil {
				d.nodeErr(it, ErrValue, "step %q of %s: %v", s, what, err)
				continue
			}
			if e := firstWord(s); e == "exit" || e == "quit" {
				d.nodeErr(it, ErrValue, "step %q of %s would leave the shell", s, what)
				continue
			}
			t.Do = append(t.Do, Step{Line: s, Pos: d.pos(it)})
		}
	}
	// The nodes.
	var nodeVals []*yaml.Node
	nq, hasNode := f["node"]
	nsq, hasNodes := f["nodes"]
	switch {
	case hasNode && hasNodes:
		d.nodeErr(nsq.key, ErrDuplicate, "%s has both node and nodes; give one", what)
	case hasNode:
		nodeVals = []*yaml.Node{nq.val}
	case hasNodes:
		nodeVals, _ = d.list(nsq.val, "nodes of "+what)
	}
	var nodePos []Pos
	for _, v := range nodeVals {
		s, ok := d.scalar(v, "a node of "+what, "a node's name")
		if !ok {
			continue
		}
		if lab.Node(s) == nil {
			d.nodeErr(v, ErrReference, "%s: no node %q in the lab%s", what, s, didYouMean(s, nodeNames(lab)))
			continue
		}
		t.Nodes = append(t.Nodes, s)
		nodePos = append(nodePos, d.pos(v))
	}
	// The check.
	var kinds []string
	for _, k := range CheckKinds {
		if _, ok := f[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) > 1:
		d.nodeErr(f[kinds[1]].key, ErrDuplicate, "%s has two checks, %s and %s: a test has one (make two tests)", what, kinds[0], kinds[1])
		return t
	case len(kinds) == 0:
		if _, hasDo := f["do"]; !hasDo {
			d.nodeErr(p.key, ErrMissing, "%s has neither a check (%s) nor steps (do:)", what, strings.Join(CheckKinds, ", "))
		}
		if hasNode || hasNodes {
			d.nodeErr(p.key, ErrValue, "%s has nodes but no check to run on them", what)
		}
		return t
	}
	q := f[kinds[0]]
	if !hasNode && !hasNodes {
		d.nodeErr(q.key, ErrMissing, "%s: the %s check needs the node(s) it runs on (node: or nodes:)", what, kinds[0])
	}
	c := &Check{Pos: d.pos(q.key)}
	cw := "the " + kinds[0] + " check of " + what
	switch kinds[0] {
	case "session":
		c.Session = d.decodeSessionCheck(q.val, cw, lab)
	case "prefix":
		c.Prefix = d.decodePrefixCheck(q.val, cw, lab)
	case "route":
		c.Route = d.decodeRouteCheck(q.val, cw, lab)
	case "ping":
		c.Ping = d.decodePingCheck(q.val, cw, lab)
	case "path":
		c.Path = d.decodePathCheck(q.val, cw, lab)
	case "notification":
		c.Notification = d.decodeNotificationCheck(q.val, cw, lab)
	case "log":
		if s, ok := d.scalar(q.val, cw, "a regular expression"); ok {
			if _, err := regexp.Compile(s); err != nil {
				d.nodeErr(q.val, ErrValue, "%s: invalid regular expression: %v", cw, err)
			} else {
				c.Log = &LogCheck{Regex: s}
			}
		}
	}
	if c.Kind() == "" {
		return t // its errors are reported
	}
	t.Check = c
	// The nodes must be able to run it.
	for i, n := range t.Nodes {
		node := lab.Node(n)
		if c.OnRouter() && node.Kind != KindRouter {
			d.errorf(nodePos[i], ErrReference, "%s: %s is a host: a %s check reads a router's BGP state", what, n, c.Kind())
			continue
		}
		var nb *Target
		fam := Family(0)
		switch {
		case c.Session != nil:
			nb, fam = &c.Session.Neighbor, c.Session.Family
		case c.Notification != nil:
			nb = &c.Notification.Neighbor
		}
		if nb != nil && !hasSession(lab, node.Router(), *nb, fam) {
			in := ""
			if fam != 0 {
				in = " over " + fam.String()
			}
			d.errorf(nodePos[i], ErrReference, "%s: %s has no BGP session with %s%s", what, n, nb, in)
		}
		if c.Path != nil && c.Path.To == n {
			d.errorf(nodePos[i], ErrValue, "%s: a path from %s to itself", what, n)
		}
	}
	return t
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func nodeNames(lab *Lab) []string {
	var out []string
	for _, n := range lab.Nodes() {
		out = append(out, n.Name)
	}
	return out
}

func didYouMean(s string, names []string) string {
	if m := suggest(s, names); m != "" {
		return fmt.Sprintf(" (did you mean %q?)", m)
	}
	return ""
}

// hasSession reports whether r has a session (of family fam, unless 0)
// with the target: a node, or the session's remote address.
func hasSession(lab *Lab, r *Router, t Target, fam Family) bool {
	for _, s := range lab.Sessions {
		_, remote, ok := s.End(r)
		if !ok || (fam != 0 && s.Family != fam) {
			continue
		}
		if remote.Router.Name == t.Node || (t.Addr.IsValid() && remote.Addr == t.Addr) {
			return true
		}
	}
	return false
}

// waitSeconds reads a wait: seconds (a number, fractions allowed) or a
// duration ("1m30s"), at most an hour.
func (d *decoder) waitSeconds(n *yaml.Node, what string) (time.Duration, bool) {
	const expected = `seconds (a number, or a duration like "90s" or "1m30s")`
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return 0, false
	}
	var v time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil && n.ShortTag() != "!!str" {
		if f < 0 || math.IsNaN(f) || f > 3600 {
			d.nodeErr(n, ErrValue, "%s is out of range for %s; expected 0 to 3600 seconds", s, what)
			return 0, false
		}
		v = time.Duration(f * float64(time.Second))
	} else if v, err = time.ParseDuration(s); err != nil || v < 0 || v > time.Hour {
		d.nodeErr(n, ErrValue, "expected %s for %s, got %q (at most an hour)", expected, what, s)
		return 0, false
	}
	return v, true
}

// check objects: a mapping, or a scalar standing for its first field.
func (d *decoder) checkFields(n *yaml.Node, what, first string, fields ...string) (map[string]kv, bool) {
	if v := d.visit(n); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
		return map[string]kv{first: {key: v, val: v}}, true
	}
	return d.object(n, what, append([]string{first}, fields...)...)
}

func (d *decoder) need(f map[string]kv, n *yaml.Node, key, what string) (kv, bool) {
	p, ok := f[key]
	if !ok {
		d.nodeErr(n, ErrMissing, "%s needs %s", what, key)
	}
	return p, ok
}

// target reads a node's name or an address; ifaces allows an interface's
// name too.
func (d *decoder) target(n *yaml.Node, what string, lab *Lab, ifaces bool) (Target, bool) {
	expected := "a node's name or an address"
	if ifaces {
		expected = "a node's name, an address or an interface"
	}
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return Target{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return Target{Addr: a}, true
	}
	if lab.Node(s) != nil {
		return Target{Node: s}, true
	}
	if ifaces && lab.Interface(s) != nil {
		return Target{Iface: s}, true
	}
	d.nodeErr(n, ErrReference, "%s: %q is not %s of the lab%s", what, s, expected, didYouMean(s, nodeNames(lab)))
	return Target{}, false
}

func (d *decoder) family(n *yaml.Node, what string) (Family, bool) {
	s, ok := d.scalar(n, what, "ipv4 or ipv6")
	if !ok {
		return 0, false
	}
	switch s {
	case "ipv4":
		return IPv4, true
	case "ipv6":
		return IPv6, true
	}
	d.nodeErr(n, ErrValue, "unknown family %q for %s; expected ipv4 or ipv6", s, what)
	return 0, false
}

// word reads one of words.
func (d *decoder) word(n *yaml.Node, what string, words ...string) (string, bool) {
	s, ok := d.scalar(n, what, strings.Join(words, " or "))
	if !ok {
		return "", false
	}
	if !slices.Contains(words, s) {
		d.nodeErr(n, ErrValue, "unknown value %q for %s; expected %s", s, what, orWords(words))
		return "", false
	}
	return s, true
}

func orWords(ws []string) string {
	if len(ws) == 1 {
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

func (d *decoder) decodeSessionCheck(n *yaml.Node, what string, lab *Lab) *SessionCheck {
	f, ok := d.checkFields(n, what, "neighbor", "state", "family")
	if !ok {
		return nil
	}
	p, ok := d.need(f, n, "neighbor", what)
	if !ok {
		return nil
	}
	c := &SessionCheck{State: "established"}
	good := true
	c.Neighbor, ok = d.target(p.val, "neighbor of "+what, lab, false)
	good = good && ok
	if q, ok := f["state"]; ok {
		c.State, ok = d.word(q.val, "state of "+what, SessionStates...)
		good = good && ok
	}
	if q, ok := f["family"]; ok {
		c.Family, ok = d.family(q.val, "family of "+what)
		good = good && ok
	}
	if !good {
		return nil
	}
	return c
}

func (d *decoder) decodePrefixCheck(n *yaml.Node, what string, lab *Lab) *PrefixCheck {
	f, ok := d.checkFields(n, what, "prefix", "state", "best", "nexthop", "local-pref", "med", "aspath", "community", "large-community", "origin", "peer")
	if !ok {
		return nil
	}
	p, ok := d.need(f, n, "prefix", what)
	if !ok {
		return nil
	}
	c := &PrefixCheck{}
	good := true
	c.Prefix, ok = d.prefix(p.val, "prefix of "+what)
	good = good && ok
	if q, ok := f["state"]; ok {
		s, ok := d.word(q.val, "state of "+what, "present", "missing")
		c.Missing, good = s == "missing", good && ok
	}
	if q, ok := f["best"]; ok {
		c.Best, ok = d.bool(q.val, "best of "+what)
		good = good && ok
	}
	opt := func(key string, ifaces bool) *Target {
		q, ok := f[key]
		if !ok {
			return nil
		}
		t, ok := d.target(q.val, key+" of "+what, lab, ifaces)
		if !ok {
			good = false
			return nil
		}
		return &t
	}
	c.NextHop, c.Peer = opt("nexthop", false), opt("peer", false)
	num := func(key string) *uint32 {
		q, ok := f[key]
		if !ok {
			return nil
		}
		v, ok := d.uint(q.val, key+" of "+what, 0, math.MaxUint32)
		if !ok {
			good = false
			return nil
		}
		x := uint32(v)
		return &x
	}
	c.LocalPref, c.MED = num("local-pref"), num("med")
	if q, ok := f["aspath"]; ok {
		c.ASPath = d.aspath(q.val, "aspath of "+what)
		good = good && c.ASPath != nil
	}
	if q, ok := f["community"]; ok {
		c.Communities = parseList(d, q.val, "community", what, "a community (AS:VALUE or a well-known name)", grammar.ParseCommunity, &good)
	}
	if q, ok := f["large-community"]; ok {
		c.LargeCommunities = parseList(d, q.val, "large community", what, "a large community (GLOBAL:LOCAL1:LOCAL2)", grammar.ParseLargeCommunity, &good)
	}
	if q, ok := f["origin"]; ok {
		c.Origin, ok = d.word(q.val, "origin of "+what, "igp", "egp", "incomplete")
		good = good && ok
	}
	if !good {
		return nil
	}
	return c
}

// parseList reads a list of scalars, each parsed by parse: a community or
// a large community of a check. A bad item is reported at its place and
// clears *good; the good ones are returned.
func parseList[T any](d *decoder, n *yaml.Node, noun, what, expect string, parse func(string) (T, error), good *bool) []T {
	key := strings.ReplaceAll(noun, " ", "-")
	items, _ := d.list(n, key+" of "+what)
	var out []T
	for _, it := range items {
		s, ok := d.scalar(it, key+" of "+what, expect)
		if !ok {
			*good = false
			continue
		}
		v, err := parse(s)
		if err != nil {
			d.nodeErr(it, ErrValue, "%s %q of %s: %v", noun, s, what, err)
			*good = false
			continue
		}
		out = append(out, v)
	}
	return out
}

// aspath reads `aspath: [2, 4]` (a list of ASNs, `[]` for the empty
// path), `aspath: 2 4` (the same, as words) or a regular expression.
func (d *decoder) aspath(n *yaml.Node, what string) *ASPathMatch {
	n = d.visit(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		m := &ASPathMatch{ASNs: []uint32{}}
		for _, it := range n.Content {
			v, ok := d.uint(it, what, 1, math.MaxUint32)
			if !ok {
				return nil
			}
			m.ASNs = append(m.ASNs, uint32(v))
		}
		return m
	}
	s, ok := d.scalar(n, what, "a list of AS numbers or a regular expression")
	if !ok {
		return nil
	}
	if asns, ok := ParseASNs(s); ok {
		return &ASPathMatch{ASNs: asns}
	}
	if _, err := ASPathRegexp(s); err != nil {
		d.nodeErr(n, ErrValue, "%s: neither AS numbers nor a valid regular expression: %v", what, err)
		return nil
	}
	return &ASPathMatch{Regex: s}
}

// ParseASNs reads AS numbers separated by spaces ("2 4"), at least one.
func ParseASNs(s string) ([]uint32, bool) {
	var out []uint32
	for _, w := range strings.Fields(s) {
		v, err := strconv.ParseUint(w, 10, 32)
		if err != nil || v == 0 {
			return nil, false
		}
		out = append(out, uint32(v))
	}
	return out, len(out) > 0
}

func (d *decoder) decodeRouteCheck(n *yaml.Node, what string, lab *Lab) *RouteCheck {
	f, ok := d.checkFields(n, what, "prefix", "via", "state")
	if !ok {
		return nil
	}
	p, ok := d.need(f, n, "prefix", what)
	if !ok {
		return nil
	}
	c := &RouteCheck{}
	good := true
	c.Prefix, ok = d.prefix(p.val, "prefix of "+what)
	good = good && ok
	if q, ok := f["via"]; ok {
		t, ok := d.target(q.val, "via of "+what, lab, true)
		c.Via, good = &t, good && ok
	}
	if q, ok := f["state"]; ok {
		s, ok := d.word(q.val, "state of "+what, "present", "missing")
		c.Missing, good = s == "missing", good && ok
	}
	if !good {
		return nil
	}
	return c
}

func (d *decoder) decodePingCheck(n *yaml.Node, what string, lab *Lab) *PingCheck {
	f, ok := d.checkFields(n, what, "to", "family", "expect")
	if !ok {
		return nil
	}
	p, ok := d.need(f, n, "to", what)
	if !ok {
		return nil
	}
	c := &PingCheck{}
	good := true
	c.To, ok = d.target(p.val, "to of "+what, lab, false)
	good = good && ok
	if q, ok := f["family"]; ok {
		c.Family, ok = d.family(q.val, "family of "+what)
		good = good && ok
	}
	if q, ok := f["expect"]; ok {
		s, ok := d.word(q.val, "expect of "+what, "success", "fail")
		c.Fail, good = s == "fail", good && ok
	}
	if good && c.Family != 0 && c.To.Addr.IsValid() && FamilyOf(c.To.Addr) != c.Family {
		d.nodeErr(p.val, ErrValue, "%s: %s is not an %s address", what, c.To.Addr, c.Family)
		good = false
	}
	if !good {
		return nil
	}
	return c
}

func (d *decoder) decodePathCheck(n *yaml.Node, what string, lab *Lab) *PathCheck {
	f, ok := d.checkFields(n, what, "to", "via", "family")
	if !ok {
		return nil
	}
	p, ok := d.need(f, n, "to", what)
	if !ok {
		return nil
	}
	c := &PathCheck{}
	good := true
	node := func(v *yaml.Node, w string) (string, bool) {
		s, ok := d.scalar(v, w, "a node's name")
		if !ok {
			return "", false
		}
		if lab.Node(s) == nil {
			d.nodeErr(v, ErrReference, "%s: no node %q in the lab%s", w, s, didYouMean(s, nodeNames(lab)))
			return "", false
		}
		return s, true
	}
	c.To, ok = node(p.val, "to of "+what)
	good = good && ok
	if q, ok := f["via"]; ok {
		items, _ := d.list(q.val, "via of "+what)
		for _, it := range items {
			s, ok := node(it, "via of "+what)
			good = good && ok
			c.Via = append(c.Via, s)
		}
	}
	if q, ok := f["family"]; ok {
		c.Family, ok = d.family(q.val, "family of "+what)
		good = good && ok
	}
	if !good {
		return nil
	}
	return c
}

func (d *decoder) decodeNotificationCheck(n *yaml.Node, what string, lab *Lab) *NotificationCheck {
	f, ok := d.checkFields(n, what, "neighbor", "sent", "received")
	if !ok {
		return nil
	}
	p, ok := d.need(f, n, "neighbor", what)
	if !ok {
		return nil
	}
	c := &NotificationCheck{Code: -1, Subcode: -1}
	good := true
	c.Neighbor, ok = d.target(p.val, "neighbor of "+what, lab, false)
	good = good && ok
	s, hasS := f["sent"]
	r, hasR := f["received"]
	switch {
	case hasS && hasR:
		d.nodeErr(r.key, ErrDuplicate, "%s has both sent and received; give one (or neither: either way)", what)
		good = false
	case hasS, hasR:
		q := s
		c.Dir = "sent"
		if hasR {
			q, c.Dir = r, "received"
		}
		txt, ok := d.scalar(q.val, c.Dir+" of "+what, "CODE/SUBCODE (4/0) or CODE (6)")
		if ok {
			c.Code, c.Subcode, ok = ParseNotificationCode(txt)
			if !ok {
				d.nodeErr(q.val, ErrValue, "expected CODE/SUBCODE (like 4/0 or 6/2) or CODE (like 6) for %s of %s, got %q", c.Dir, what, txt)
			}
		}
		good = good && ok
	}
	if !good {
		return nil
	}
	return c
}

// ParseNotificationCode reads "4/0" or "6" (any subcode: -1).
func ParseNotificationCode(s string) (code, subcode int, ok bool) {
	cs, ss, two := strings.Cut(s, "/")
	c, err := strconv.ParseUint(cs, 10, 8)
	if err != nil || c == 0 {
		return 0, 0, false
	}
	if !two {
		return int(c), -1, true
	}
	sc, err := strconv.ParseUint(ss, 10, 8)
	if err != nil {
		return 0, 0, false
	}
	return int(c), int(sc), true
}
