package topo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file is the first step: YAML text to raw structs that keep the
// position of every value. It checks shapes and types, field names,
// duplicate keys and the syntax of single values (a number in range, an
// address that parses); everything that needs more than one value is the
// resolver's (resolve.go).

// maxVisits bounds the number of YAML nodes the decoder walks, aliases
// expanded: a "billion laughs" document of nested aliases would otherwise
// make a few hundred bytes cost hours.
const maxVisits = 1 << 20

// decoder walks one file's yaml.Node tree and collects errors.
type decoder struct {
	file   string
	lines  []string
	errs   ErrorList
	visits int
	// aborted is set when the visit budget ran out; every walker then
	// returns at once.
	aborted bool
}

func newDecoder(file string, data []byte) *decoder {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return &decoder{file: file, lines: lines}
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

// errorf records an error at p.
func (d *decoder) errorf(p Pos, kind error, format string, a ...any) {
	if p.Line > len(d.lines) {
		// The YAML library places the end of the stream on a line past
		// the last.
		p.Line, p.Col = len(d.lines), 0
	}
	e := &Error{Pos: p, Msg: fmt.Sprintf(format, a...), Kind: kind}
	if p.Line > 0 && p.Line <= len(d.lines) {
		e.Source = d.lines[p.Line-1]
	}
	d.errs = append(d.errs, e)
}

// nodeErr records an error at n's position.
func (d *decoder) nodeErr(n *yaml.Node, kind error, format string, a ...any) {
	d.errorf(d.pos(n), kind, format, a...)
}

// visit counts one node against the budget and resolves aliases; it returns
// nil once the budget is spent.
func (d *decoder) visit(n *yaml.Node) *yaml.Node {
	if d.aborted || n == nil {
		return nil
	}
	for depth := 0; n.Kind == yaml.AliasNode; depth++ {
		if n.Alias == nil || depth > 100 {
			d.nodeErr(n, ErrSyntax, "alias *%s refers to nothing", n.Value)
			return nil
		}
		n = n.Alias
	}
	d.visits++
	if d.visits > maxVisits {
		d.aborted = true
		d.nodeErr(n, ErrValue, "document too large: more than %d values once aliases are expanded", maxVisits)
		return nil
	}
	return n
}

// kindName says what a node is, for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int":
			return "the number " + n.Value
		case "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kv is one key/value pair of a mapping.
type kv struct {
	key, val *yaml.Node
}

// mapping returns the pairs of mapping n in file order. A null value is an
// empty mapping. Keys must be scalars; a key seen twice is reported at its
// second place and dropped. YAML merge keys (`<<: *defaults`) bring in the
// pairs of the merged mappings that the mapping does not set itself. ok is
// false when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, what string) (pairs []kv, ok bool) {
	if n = d.visit(n); n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.nodeErr(n, ErrType, "expected a mapping (key: value) for %s, got %s", what, kindName(n))
		return nil, false
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	var merged []kv
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.visit(n.Content[i]), n.Content[i+1]
		if k == nil {
			return pairs, false
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(v, what)...)
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.nodeErr(k, ErrType, "expected a name as key in %s, got %s", what, kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.nodeErr(k, ErrDuplicate, "duplicate key %q in %s (first at line %d)", k.Value, what, first.Line)
			continue
		}
		seen[k.Value] = k
		pairs = append(pairs, kv{k, v})
	}
	// The mapping's own keys win over merged ones, and earlier merged
	// mappings over later ones (the YAML merge key's rules).
	for _, p := range merged {
		if _, dup := seen[p.key.Value]; !dup {
			seen[p.key.Value] = p.key
			pairs = append(pairs, p)
		}
	}
	return pairs, !d.aborted
}

// mergePairs returns the pairs a merge key brings in: from one mapping or
// from a list of mappings.
func (d *decoder) mergePairs(v *yaml.Node, what string) []kv {
	if v = d.visit(v); v == nil {
		return nil
	}
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	var out []kv
	for _, s := range srcs {
		if s = d.visit(s); s == nil {
			return out
		}
		if s.Kind != yaml.MappingNode {
			d.nodeErr(s, ErrType, "expected a mapping (or a list of mappings) to merge into %s, got %s", what, kindName(s))
			continue
		}
		pairs, _ := d.mapping(s, what)
		out = append(out, pairs...)
	}
	return out
}

// object decodes a mapping with a fixed set of fields: it reports unknown
// fields and returns the known ones by name.
func (d *decoder) object(n *yaml.Node, what string, fields ...string) (map[string]kv, bool) {
	pairs, ok := d.mapping(n, what)
	if !ok {
		return nil, false
	}
	out := make(map[string]kv, len(pairs))
	for _, p := range pairs {
		if !contains(fields, p.key.Value) {
			msg := fmt.Sprintf("unknown field %q in %s; expected one of: %s", p.key.Value, what, strings.Join(fields, ", "))
			if s := suggest(p.key.Value, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.nodeErr(p.key, ErrUnknownField, "%s", msg)
			continue
		}
		out[p.key.Value] = p
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely typo ("asn" for "as", "keepalve" for "keepalive") and no other
// candidate is as close (r4 among r1, r2, r3 suggests nothing), or "".
func suggest(s string, candidates []string) string {
	best, bestD, tie := "", 1<<30, false
	for _, c := range candidates {
		d := editDistance(s, c)
		if d > max(1, len(c)/3) {
			continue
		}
		switch {
		case d < bestD:
			best, bestD, tie = c, d, false
		case d == bestD && c != best:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// list returns the items of a sequence. A single scalar is a list of one
// (so `hosts: h1` works as `hosts: [h1]`); null is the empty list.
func (d *decoder) list(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if n = d.visit(n); n == nil {
		return nil, false
	}
	switch {
	case isNull(n):
		return nil, true
	case n.Kind == yaml.ScalarNode:
		return []*yaml.Node{n}, true
	case n.Kind == yaml.SequenceNode:
		out := make([]*yaml.Node, 0, len(n.Content))
		for _, c := range n.Content {
			if c = d.visit(c); c == nil {
				return out, false
			}
			out = append(out, c)
		}
		return out, true
	}
	d.nodeErr(n, ErrType, "expected a list for %s, got %s", what, kindName(n))
	return nil, false
}

// scalar returns the text of a non-null scalar.
func (d *decoder) scalar(n *yaml.Node, what, expected string) (string, bool) {
	if n = d.visit(n); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.nodeErr(n, ErrType, "expected %s for %s, got %s", expected, what, kindName(n))
		return "", false
	}
	return n.Value, true
}

var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// uint parses a plain decimal integer in [lo, hi]. YAML's other integer
// spellings (0x10, 0o17, 1_000, +5) are refused: in a lab file they are far
// more likely typos than intent.
func (d *decoder) uint(n *yaml.Node, what string, lo, hi uint64) (uint64, bool) {
	if n = d.visit(n); n == nil {
		return 0, false
	}
	expected := fmt.Sprintf("a decimal integer from %d to %d", lo, hi)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || !decimalRE.MatchString(n.Value) {
		d.nodeErr(n, ErrType, "expected %s for %s, got %s", expected, what, kindName(n))
		return 0, false
	}
	v, err := strconv.ParseUint(n.Value, 10, 64)
	if err != nil || v < lo || v > hi {
		d.nodeErr(n, ErrValue, "%s is out of range for %s; expected %s", n.Value, what, expected)
		return 0, false
	}
	return v, true
}

func (d *decoder) bool(n *yaml.Node, what string) (bool, bool) {
	if n = d.visit(n); n == nil {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.nodeErr(n, ErrType, "expected true or false for %s, got %s", what, kindName(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

// seconds parses a BGP timer: whole seconds as an integer ("9") or as a Go
// duration ("9s", "1m"), from 0 to 65535 s (the OPEN message's 16 bits).
func (d *decoder) seconds(n *yaml.Node, what string) (time.Duration, bool) {
	if n = d.visit(n); n == nil {
		return 0, false
	}
	const expected = `whole seconds (an integer, or a duration like "3s" or "1m")`
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.nodeErr(n, ErrType, "expected %s for %s, got %s", expected, what, kindName(n))
		return 0, false
	}
	if n.ShortTag() == "!!int" {
		v, ok := d.uint(n, what, 0, 65535)
		return time.Duration(v) * time.Second, ok
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.ShortTag() != "!!str" {
		d.nodeErr(n, ErrType, "expected %s for %s, got %s", expected, what, kindName(n))
		return 0, false
	}
	if v%time.Second != 0 || v < 0 {
		d.nodeErr(n, ErrValue, "%s is not a whole number of seconds for %s: BGP carries its timers in seconds", n.Value, what)
		return 0, false
	}
	if v > 65535*time.Second {
		d.nodeErr(n, ErrValue, "%s is out of range for %s; expected at most 65535s (18h12m15s)", n.Value, what)
		return 0, false
	}
	return v, true
}

// addrLen parses an interface address with its prefix length
// ("2001:12::a/64"), the host bits kept.
func (d *decoder) addrLen(n *yaml.Node, what string) (rawAddr, bool) {
	const expected = "an address with its prefix length (like 10.1.0.1/24 or 2001:db8::1/64)"
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return rawAddr{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			d.nodeErr(n, ErrAddress, "%s has no prefix length for %s; expected %s (%s/%d?)", s, what, expected, a, defaultLen(a))
		} else {
			d.nodeErr(n, ErrAddress, "expected %s for %s, got %q", expected, what, s)
		}
		return rawAddr{}, false
	}
	return rawAddr{p: p, pos: d.pos(n)}, true
}

func defaultLen(a netip.Addr) int {
	if a.Is4() {
		return 24
	}
	return 64
}

// prefix parses a network prefix; host bits must be zero.
func (d *decoder) prefix(n *yaml.Node, what string) (netip.Prefix, bool) {
	const expected = "a prefix (like 10.9.0.0/24 or 2001:db8:1::/64)"
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		d.nodeErr(n, ErrAddress, "expected %s for %s, got %q", expected, what, s)
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() {
		d.nodeErr(n, ErrAddress, "%s is an IPv4-mapped IPv6 prefix for %s; write the IPv4 prefix instead", s, what)
		return netip.Prefix{}, false
	}
	if m := p.Masked(); m != p {
		d.nodeErr(n, ErrAddress, "%s has host bits set for %s; expected a prefix (did you mean %s?)", s, what, m)
		return netip.Prefix{}, false
	}
	return p, true
}

// setting is an optional value and where it was set.
type setting[T any] struct {
	set bool
	v   T
	pos Pos
}

func (s *setting[T]) put(v T, p Pos) { *s = setting[T]{set: true, v: v, pos: p} }

type rawAddr struct {
	p   netip.Prefix // an interface address with its length, host bits kept
	pos Pos
}

type rawName struct {
	name string
	pos  Pos
}

// rawBGP is one level (lab, AS or router) of BGP settings.
type rawBGP struct {
	keepalive, hold, connectRetry setting[time.Duration]
	compareRouterID               setting[bool]
	// bad is set when a timer's value was invalid: the resolver then skips
	// the keepalive/hold check, which would only echo that error.
	bad bool
}

type rawAddressing struct {
	link4, link6, lan4, lan6, routerIDs setting[netip.Prefix]
	lo4, lo6                            setting[netip.Prefix]
	link4Len, lan4Len                   setting[int]
	families                            setting[[]Family]
}

type rawAS struct {
	num       uint32
	pos       Pos
	name      string
	bgp       rawBGP
	ibgp      setting[IBGPMode]
	clusterID setting[netip.Addr]
}

type rawRouter struct {
	name     string
	pos      Pos
	as       setting[uint32]
	asGiven  bool // the as key is present, even if its value was bad
	lanBad   bool // a lan address failed to parse
	routerID setting[netip.Addr]
	prefixes []Origination
	lan      []rawAddr
	hosts    []rawName
	bgp      rawBGP
	external bool
	// daemon is `kind:` (DaemonNone for `kind: lab` or none written),
	// written at daemonPos.
	daemon    Daemon
	daemonPos Pos
	// loopbacks are the written loopbacks, as /32 and /128 prefixes.
	loopbacks   []rawAddr
	rr          setting[bool]
	clusterID   setting[netip.Addr]
	nextHopSelf setting[bool]
	aggregates  []Aggregate
	// api names the processes the router runs (api.go).
	api []rawName
}

type rawHost struct {
	name   string
	pos    Pos
	router setting[string]
	// routerGiven is set when the router key is present, even if its
	// value was bad.
	routerGiven bool
	addrs       []rawAddr
}

type rawLinkAddrs struct {
	end   rawName
	addrs []rawAddr
}

type rawLink struct {
	pos      Pos
	ends     []rawName
	addrs    []rawLinkAddrs
	password string
	// passwordPos is where the password is written (zero when it is not).
	passwordPos Pos
	bgp         []*rawEndBGP
	relation    setting[Relation]
	// relationGiven is set when the relation key is present, even if its
	// value was bad.
	relationGiven bool
	cost          setting[int]
	// bad is set when the link's own syntax failed; the resolver skips it.
	bad bool
}

type rawLab struct {
	name       setting[string]
	bgp        rawBGP
	addressing rawAddressing
	ases       []*rawAS
	routers    []*rawRouter
	hosts      []*rawHost
	links      []*rawLink
	// routersPos is the position of the `routers:` key, for "no routers".
	routersPos setting[struct{}]
	// routersBad is set when the routers section is not a mapping: the
	// resolver then stops, as every reference would fail.
	routersBad bool
	routing    rawRouting
	relLP      rawRelLP
	// processes are ExaBGP's API programs (api.go).
	processes []*rawProcess
}

// Field lists, in the order error messages show them.
var (
	labFields        = []string{"name", "bgp", "addressing", "routing", "ases", "routers", "hosts", "links", "processes"}
	bgpFields        = []string{"keepalive", "hold", "connect-retry", "compare-routerid"}
	labBGPFields     = append(slices.Clip(bgpFields), "relation-local-pref")
	addressingFields = []string{"ipv4-links", "ipv6-links", "ipv4-lans", "ipv6-lans", "router-ids", "ipv4-loopbacks", "ipv6-loopbacks", "ipv4-link-length", "ipv4-lan-length", "families"}
	asFields         = []string{"name", "bgp", "ibgp", "cluster-id"}
	routerFields     = []string{"as", "router-id", "prefixes", "lan", "hosts", "bgp", "external", "kind", "loopback", "rr", "cluster-id", "next-hop-self", "aggregate", "api"}
	prefixFields     = []string{"prefix", "med", "communities", "large-communities", "as-path", "origin", "local-pref", "next-hop"}
	hostFields       = []string{"router", "addresses"}
	linkFields       = []string{"endpoints", "addresses", "password", "bgp", "relation", "cost"}
)

// decodeYAML parses data into a document node, turning the YAML library's
// errors (and, defensively, its panics) into positioned errors.
func (d *decoder) decodeYAML(data []byte) (root *yaml.Node) {
	defer func() {
		if r := recover(); r != nil {
			d.errorf(Pos{File: d.file}, ErrSyntax, "the YAML parser failed on this file: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(Pos{File: d.file}, ErrMissing, "the file is empty; expected a mapping with at least a `routers:` section")
			return nil
		}
		d.yamlError(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.errorf(Pos{File: d.file, Line: next.Line, Col: next.Column}, ErrSyntax, "a second YAML document; a topology file holds exactly one")
	case !errors.Is(err, io.EOF):
		d.yamlError(err)
	}
	return &doc
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of the YAML library's parser (as
// opposed to its scanner). The library reports the line of a parser error
// 0-based (and drops it when it is 0), of a scanner error 1-based.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

var yamlAnchorRE = regexp.MustCompile(`^yaml: (unknown anchor|anchor) '([^']*)' (referenced|value contains itself)$`)

func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if slices.Contains(yamlParserProblems, m[2]) {
			line++
		}
		// The end of the stream counts as a line of its own: keep to the
		// file's last line with text.
		last := len(d.lines)
		for last > 1 && strings.TrimSpace(d.lines[last-1]) == "" {
			last--
		}
		line = min(line, last)
		d.errorf(Pos{File: d.file, Line: line}, ErrSyntax, "invalid YAML: %s", m[2])
		return
	}
	problem := strings.TrimPrefix(msg, "yaml: ")
	p := Pos{File: d.file}
	if slices.Contains(yamlParserProblems, problem) {
		p.Line = 1
	}
	if m := yamlAnchorRE.FindStringSubmatch(msg); m != nil {
		// Point at the alias (or anchor) in the text.
		mark := "*"
		if m[1] == "anchor" {
			mark = "&"
		}
		p = d.find(mark + m[2])
	}
	d.errorf(p, ErrSyntax, "invalid YAML: %s", problem)
}

// find returns the position of the first occurrence of token in the text
// (followed by a character that cannot continue it), or the file.
func (d *decoder) find(token string) Pos {
	for i, l := range d.lines {
		for off := 0; ; {
			j := strings.Index(l[off:], token)
			if j < 0 {
				break
			}
			end := off + j + len(token)
			if end == len(l) || strings.ContainsRune(" \t,]}#", rune(l[end])) {
				return Pos{File: d.file, Line: i + 1, Col: utf8.RuneCountInString(l[:off+j]) + 1}
			}
			off = end
		}
	}
	return Pos{File: d.file}
}

// decodeLab decodes a document into a rawLab.
func (d *decoder) decodeLab(doc *yaml.Node) *rawLab {
	raw := &rawLab{}
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			d.errorf(Pos{File: d.file}, ErrMissing, "the file is empty; expected a mapping with at least a `routers:` section")
			return raw
		}
		root = root.Content[0]
	}
	if r := d.visit(root); r != nil && isNull(r) {
		d.nodeErr(r, ErrMissing, "the file is empty; expected a mapping with at least a `routers:` section")
		return raw
	}
	f, ok := d.object(root, "the topology", labFields...)
	if !ok {
		return raw
	}
	if p, ok := f["name"]; ok {
		if s, ok := d.scalar(p.val, "the lab name", "a name like simple-bgp"); ok {
			raw.name.put(s, d.pos(p.val))
		}
	}
	if p, ok := f["bgp"]; ok {
		raw.bgp = d.decodeBGP(p.val, "the lab's bgp settings", &raw.relLP)
	}
	if p, ok := f["addressing"]; ok {
		raw.addressing = d.decodeAddressing(p.val)
	}
	if p, ok := f["routing"]; ok {
		raw.routing = d.decodeRouting(p.val)
	}
	if p, ok := f["ases"]; ok {
		raw.ases = d.decodeASes(p.val)
	}
	if p, ok := f["routers"]; ok {
		raw.routersPos.put(struct{}{}, d.pos(p.key))
		raw.routers, raw.routersBad = d.decodeRouters(p.val)
	}
	if p, ok := f["hosts"]; ok {
		raw.hosts = d.decodeHosts(p.val)
	}
	if p, ok := f["links"]; ok {
		raw.links = d.decodeLinks(p.val)
	}
	if p, ok := f["processes"]; ok {
		raw.processes = d.decodeProcesses(p.val)
	}
	return raw
}

// decodeBGP decodes one level of BGP settings; relLP is non-nil for the
// lab's level, the only one with relation-local-pref.
func (d *decoder) decodeBGP(n *yaml.Node, what string, relLP *rawRelLP) rawBGP {
	var b rawBGP
	fields := bgpFields
	if relLP != nil {
		fields = labBGPFields
	}
	f, ok := d.object(n, what, fields...)
	if !ok {
		return b
	}
	if p, ok := f["relation-local-pref"]; ok {
		*relLP = d.decodeRelationLocalPref(p.val)
	}
	if p, ok := f["keepalive"]; ok {
		if v, ok := d.seconds(p.val, "keepalive in "+what); ok {
			b.keepalive.put(v, d.pos(p.val))
		} else {
			b.bad = true
		}
	}
	if p, ok := f["hold"]; ok {
		if v, ok := d.seconds(p.val, "hold in "+what); ok {
			// RFC 4271 §4.2: the Hold Time MUST be either zero or at least
			// three seconds.
			if v == time.Second || v == 2*time.Second {
				d.nodeErr(p.val, ErrValue, "hold time %v in %s is invalid: it must be 0 (no hold timer) or at least 3s (RFC 4271 §4.2)", v, what)
				b.bad = true
			} else {
				b.hold.put(v, d.pos(p.val))
			}
		} else {
			b.bad = true
		}
	}
	if p, ok := f["connect-retry"]; ok {
		if v, ok := d.seconds(p.val, "connect-retry in "+what); ok {
			if v == 0 {
				d.nodeErr(p.val, ErrValue, "connect-retry in %s must be at least 1s", what)
			} else {
				b.connectRetry.put(v, d.pos(p.val))
			}
		}
	}
	if p, ok := f["compare-routerid"]; ok {
		if v, ok := d.bool(p.val, "compare-routerid in "+what); ok {
			b.compareRouterID.put(v, d.pos(p.val))
		}
	}
	return b
}

func (d *decoder) decodeAddressing(n *yaml.Node) rawAddressing {
	var a rawAddressing
	f, ok := d.object(n, "addressing", addressingFields...)
	if !ok {
		return a
	}
	pool := func(key string, s *setting[netip.Prefix]) {
		if p, ok := f[key]; ok {
			if v, ok := d.prefix(p.val, "addressing "+key); ok {
				s.put(v, d.pos(p.val))
			}
		}
	}
	pool("ipv4-links", &a.link4)
	pool("ipv6-links", &a.link6)
	pool("ipv4-lans", &a.lan4)
	pool("ipv6-lans", &a.lan6)
	pool("router-ids", &a.routerIDs)
	pool("ipv4-loopbacks", &a.lo4)
	pool("ipv6-loopbacks", &a.lo6)
	if p, ok := f["ipv4-link-length"]; ok {
		if v, ok := d.uint(p.val, "addressing ipv4-link-length", 30, 31); ok {
			a.link4Len.put(int(v), d.pos(p.val))
		}
	}
	if p, ok := f["ipv4-lan-length"]; ok {
		if v, ok := d.uint(p.val, "addressing ipv4-lan-length", 8, 30); ok {
			a.lan4Len.put(int(v), d.pos(p.val))
		}
	}
	if p, ok := f["families"]; ok {
		items, ok := d.list(p.val, "addressing families")
		if ok {
			fams := []Family{}
			seen := map[Family]bool{}
			good := true
			for _, it := range items {
				s, ok := d.scalar(it, "addressing families", "ipv4 or ipv6")
				if !ok {
					good = false
					continue
				}
				var fam Family
				switch s {
				case "ipv4":
					fam = IPv4
				case "ipv6":
					fam = IPv6
				default:
					d.nodeErr(it, ErrValue, "unknown address family %q in addressing families; expected ipv4 or ipv6", s)
					good = false
					continue
				}
				if seen[fam] {
					d.nodeErr(it, ErrDuplicate, "address family %s is listed twice in addressing families", s)
					continue
				}
				seen[fam] = true
				fams = append(fams, fam)
			}
			if good {
				a.families.put(fams, d.pos(p.val))
			}
		}
	}
	return a
}

// asNumber checks an AS number: RFC 6793 4-byte numbers are welcome, but 0
// (RFC 7607) and AS_TRANS are not.
func (d *decoder) asNumber(n *yaml.Node, what string) (uint32, bool) {
	v, ok := d.uint(n, what, 0, 1<<32-1)
	if !ok {
		return 0, false
	}
	switch v {
	case 0:
		d.nodeErr(n, ErrValue, "AS 0 is reserved (RFC 7607) for %s; expected 1 to 4294967295", what)
		return 0, false
	case asTrans:
		d.nodeErr(n, ErrValue, "AS 23456 is AS_TRANS, reserved for 2-byte speakers (RFC 6793), for %s; use another number", what)
		return 0, false
	}
	return uint32(v), true
}

const asTrans = 23456

func (d *decoder) decodeASes(n *yaml.Node) []*rawAS {
	pairs, _ := d.mapping(n, "ases")
	var out []*rawAS
	for _, p := range pairs {
		num, ok := d.asNumber(p.key, "an AS in ases")
		if !ok {
			continue
		}
		what := fmt.Sprintf("AS %d", num)
		a := &rawAS{num: num, pos: d.pos(p.key)}
		f, ok := d.object(p.val, what, asFields...)
		if ok {
			if q, ok := f["name"]; ok {
				if s, ok := d.scalar(q.val, "the name of "+what, "a name"); ok {
					a.name = s
				}
			}
			if q, ok := f["bgp"]; ok {
				a.bgp = d.decodeBGP(q.val, "the bgp settings of "+what, nil)
			}
			if q, ok := f["ibgp"]; ok {
				if m, ok := d.ibgpMode(q.val, "the ibgp of "+what); ok {
					a.ibgp.put(m, d.pos(q.val))
				}
			}
			if q, ok := f["cluster-id"]; ok {
				if v, ok := d.clusterID(q.val, "the cluster-id of "+what); ok {
					a.clusterID.put(v, d.pos(q.val))
				}
			}
		}
		out = append(out, a)
	}
	return out
}

func (d *decoder) decodeRouters(n *yaml.Node) (out []*rawRouter, bad bool) {
	pairs, ok := d.mapping(n, "routers")
	for _, p := range pairs {
		r := &rawRouter{name: p.key.Value, pos: d.pos(p.key)}
		out = append(out, r)
		what := fmt.Sprintf("router %q", r.name)
		f, ok := d.object(p.val, what, routerFields...)
		if !ok {
			r.asGiven = true // not a mapping: "no AS" would only repeat it
			continue
		}
		if q, ok := f["as"]; ok {
			r.asGiven = true
			if v, ok := d.asNumber(q.val, "the AS of "+what); ok {
				r.as.put(v, d.pos(q.val))
			}
		}
		if q, ok := f["router-id"]; ok {
			const expected = "an IPv4 address (like 0.0.0.2 or 10.0.0.1)"
			if s, ok := d.scalar(q.val, "the router-id of "+what, expected); ok {
				a, err := netip.ParseAddr(s)
				switch {
				case err != nil || !a.Is4():
					d.nodeErr(q.val, ErrValue, "expected %s for the router-id of %s, got %q: a BGP identifier is 32 bits", expected, what, s)
				case a.IsUnspecified():
					d.nodeErr(q.val, ErrValue, "router-id 0.0.0.0 of %s is invalid: a BGP identifier must be non-zero (RFC 6286 §2.1)", what)
				default:
					r.routerID.put(a, d.pos(q.val))
				}
			}
		}
		if q, ok := f["prefixes"]; ok {
			r.prefixes = d.decodePrefixes(q.val, what)
		}
		if q, ok := f["lan"]; ok {
			items, _ := d.list(q.val, "the lan of "+what)
			for _, it := range items {
				if a, ok := d.addrLen(it, "the lan of "+what); ok {
					r.lan = append(r.lan, a)
				} else {
					r.lanBad = true
				}
			}
		}
		if q, ok := f["hosts"]; ok {
			items, _ := d.list(q.val, "the hosts of "+what)
			for _, it := range items {
				if s, ok := d.scalar(it, "the hosts of "+what, "a host name"); ok {
					r.hosts = append(r.hosts, rawName{s, d.pos(it)})
				}
			}
		}
		if q, ok := f["bgp"]; ok {
			r.bgp = d.decodeBGP(q.val, "the bgp settings of "+what, nil)
		}
		if q, ok := f["external"]; ok {
			r.external, _ = d.bool(q.val, "external of "+what)
		}
		if q, ok := f["api"]; ok {
			r.api = d.decodeRouterAPI(q.val, what)
		}
		if q, ok := f["kind"]; ok {
			d.decodeKind(r, q.val, what)
		}
		d.decodeRouterIBGP(r, f, what)
	}
	return out, !ok
}

// wellKnownCommunities are the RFC names of well-known communities.
var wellKnownCommunities = map[string]uint32{
	"graceful-shutdown":   0xFFFF0000, // RFC 8326
	"accept-own":          0xFFFF0001, // RFC 7611
	"blackhole":           0xFFFF029A, // RFC 7999
	"no-export":           0xFFFFFF01, // RFC 1997
	"no-advertise":        0xFFFFFF02, // RFC 1997
	"no-export-subconfed": 0xFFFFFF03, // RFC 1997
	"local-as":            0xFFFFFF03, // FRR's name for NO_EXPORT_SUBCONFED
	"no-peer":             0xFFFFFF04, // RFC 3765
}

func (d *decoder) decodePrefixes(n *yaml.Node, what string) []Origination {
	items, _ := d.list(n, "the prefixes of "+what)
	var out []Origination
	for _, it := range items {
		ctx := "a prefix of " + what
		if it.Kind == yaml.ScalarNode {
			if p, ok := d.prefix(it, ctx); ok && d.originable(it, p, what) {
				out = append(out, Origination{Prefix: p, Pos: d.pos(it)})
			}
			continue
		}
		f, ok := d.object(it, ctx, prefixFields...)
		if !ok {
			continue
		}
		q, ok := f["prefix"]
		if !ok {
			d.nodeErr(it, ErrMissing, "%s has no prefix; expected `prefix: 10.9.0.0/24`", ctx)
			continue
		}
		p, ok := d.prefix(q.val, ctx)
		if !ok || !d.originable(q.val, p, what) {
			continue
		}
		o := Origination{Prefix: p, Pos: d.pos(it)}
		good := true
		if q, ok := f["med"]; ok {
			v, ok := d.uint(q.val, "the med of "+p.String(), 0, 1<<32-1)
			good = good && ok
			o.MED, o.HasMED = uint32(v), ok
		}
		if q, ok := f["communities"]; ok {
			items, ok := d.list(q.val, "the communities of "+p.String())
			good = good && ok
			for _, c := range items {
				v, ok := d.community(c, p)
				good = good && ok
				o.Communities = append(o.Communities, v)
			}
		}
		if q, ok := f["large-communities"]; ok {
			items, ok := d.list(q.val, "the large-communities of "+p.String())
			good = good && ok
			for _, c := range items {
				v, ok := d.largeCommunity(c, p)
				good = good && ok
				o.LargeCommunities = append(o.LargeCommunities, v)
			}
		}
		good = d.decodePrefixAPI(f, &o) && good
		if good {
			out = append(out, o)
		}
	}
	return out
}

var (
	linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")
	linkLocal6 = netip.MustParsePrefix("fe80::/10")
)

// originable refuses prefixes no router can meaningfully originate; a
// default route or an aggregate covering them is fine.
func (d *decoder) originable(n *yaml.Node, p netip.Prefix, what string) bool {
	a := p.Addr()
	var why string
	switch {
	case a.IsMulticast():
		why = "multicast"
	case a.Is4() && p.Bits() >= 16 && linkLocal4.Contains(a), a.Is6() && p.Bits() >= 10 && linkLocal6.Contains(a):
		why = "link-local"
	case a.IsLoopback():
		why = "loopback"
	default:
		return true
	}
	d.nodeErr(n, ErrAddress, "%s is a %s prefix: %s cannot originate it", p, why, what)
	return false
}

func (d *decoder) community(n *yaml.Node, p netip.Prefix) (uint32, bool) {
	return d.communityValue(n, "a community of "+p.String())
}

// communityValue parses an RFC 1997 community for what.
func (d *decoder) communityValue(n *yaml.Node, what string) (uint32, bool) {
	const expected = `a community "AS:VALUE" (each 0..65535) or a well-known name (no-export, no-advertise, no-export-subconfed, no-peer, blackhole, graceful-shutdown, accept-own)`
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return 0, false
	}
	if v, ok := wellKnownCommunities[strings.ToLower(s)]; ok {
		return v, true
	}
	hi, lo, found := strings.Cut(s, ":")
	a, err1 := strconv.ParseUint(hi, 10, 16)
	b, err2 := strconv.ParseUint(lo, 10, 16)
	if !found || err1 != nil || err2 != nil {
		d.nodeErr(n, ErrValue, "expected %s for %s, got %q", expected, what, s)
		return 0, false
	}
	return uint32(a)<<16 | uint32(b), true
}

func (d *decoder) largeCommunity(n *yaml.Node, p netip.Prefix) ([3]uint32, bool) {
	return d.largeCommunityValue(n, "a large community of "+p.String())
}

// largeCommunityValue parses an RFC 8092 large community for what.
func (d *decoder) largeCommunityValue(n *yaml.Node, what string) ([3]uint32, bool) {
	const expected = `a large community "GLOBAL:LOCAL1:LOCAL2" (each 0..4294967295, RFC 8092)`
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return [3]uint32{}, false
	}
	parts := strings.Split(s, ":")
	var out [3]uint32
	if len(parts) != 3 {
		d.nodeErr(n, ErrValue, "expected %s for %s, got %q", expected, what, s)
		return out, false
	}
	for i, x := range parts {
		v, err := strconv.ParseUint(x, 10, 32)
		if err != nil {
			d.nodeErr(n, ErrValue, "expected %s for %s, got %q", expected, what, s)
			return out, false
		}
		out[i] = uint32(v)
	}
	return out, true
}

func (d *decoder) decodeHosts(n *yaml.Node) []*rawHost {
	pairs, _ := d.mapping(n, "hosts")
	var out []*rawHost
	for _, p := range pairs {
		h := &rawHost{name: p.key.Value, pos: d.pos(p.key)}
		out = append(out, h)
		what := fmt.Sprintf("host %q", h.name)
		f, ok := d.object(p.val, what, hostFields...)
		if !ok {
			continue
		}
		if q, ok := f["router"]; ok {
			h.routerGiven = true
			if s, ok := d.scalar(q.val, "the router of "+what, "a router name"); ok {
				h.router.put(s, d.pos(q.val))
			}
		}
		if q, ok := f["addresses"]; ok {
			items, _ := d.list(q.val, "the addresses of "+what)
			for _, it := range items {
				if a, ok := d.addrLen(it, "the addresses of "+what); ok {
					h.addrs = append(h.addrs, a)
				}
			}
		}
	}
	return out
}

func (d *decoder) decodeLinks(n *yaml.Node) []*rawLink {
	items, _ := d.list(n, "links")
	var out []*rawLink
	for i, it := range items {
		what := fmt.Sprintf("link %d", i+1)
		k := &rawLink{pos: d.pos(it)}
		out = append(out, k)
		switch it.Kind {
		case yaml.SequenceNode:
			k.ends, k.bad = d.endpoints(it, what)
			continue
		case yaml.MappingNode:
		default:
			d.nodeErr(it, ErrType, "expected a link, either [router1, router2] or a mapping with endpoints, for %s, got %s", what, kindName(it))
			k.bad = true
			continue
		}
		f, ok := d.object(it, what, linkFields...)
		if !ok {
			k.bad = true
			continue
		}
		q, ok := f["endpoints"]
		if !ok {
			d.nodeErr(it, ErrMissing, "%s has no endpoints; expected `endpoints: [router1, router2]`", what)
			k.bad = true
			continue
		}
		k.ends, k.bad = d.endpoints(q.val, what)
		if q, ok := f["addresses"]; ok {
			pairs, ok := d.mapping(q.val, "the addresses of "+what)
			k.bad = k.bad || !ok
			for _, p := range pairs {
				la := rawLinkAddrs{end: rawName{p.key.Value, d.pos(p.key)}}
				items, ok := d.list(p.val, fmt.Sprintf("the addresses of %s on %s", p.key.Value, what))
				k.bad = k.bad || !ok
				for _, it := range items {
					a, ok := d.addrLen(it, fmt.Sprintf("the address of %s on %s", p.key.Value, what))
					if !ok {
						k.bad = true
						continue
					}
					la.addrs = append(la.addrs, a)
				}
				k.addrs = append(k.addrs, la)
			}
		}
		if q, ok := f["password"]; ok {
			if s, ok := d.scalar(q.val, "the password of "+what, "a TCP MD5 key"); ok {
				// Linux's TCP_MD5SIG_MAXKEYLEN.
				if len(s) > 80 {
					d.nodeErr(q.val, ErrValue, "the password of %s is %d bytes long; TCP MD5 keys are at most 80 bytes", what, len(s))
				} else {
					k.password, k.passwordPos = s, d.pos(q.val)
				}
			}
		}
		d.decodeLinkPolicy(k, f, what)
	}
	return out
}

// endpoints decodes the two router names of a link.
func (d *decoder) endpoints(n *yaml.Node, what string) (ends []rawName, bad bool) {
	const expected = "a list of two router names, like [as1ra, as2rb]"
	if n = d.visit(n); n == nil {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.nodeErr(n, ErrType, "expected %s for the endpoints of %s, got %s", expected, what, kindName(n))
		return nil, true
	}
	if len(n.Content) != 2 {
		d.nodeErr(n, ErrValue, "%s has %d endpoint%s; expected %s", what, len(n.Content), plural(len(n.Content)), expected)
		return nil, true
	}
	for _, c := range n.Content {
		s, ok := d.scalar(c, "an endpoint of "+what, "a router name")
		if !ok {
			return nil, true
		}
		ends = append(ends, rawName{s, d.pos(c)})
	}
	return ends, false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
