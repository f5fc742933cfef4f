package topo

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file decodes the parts of a topology that issues 9 and 10 added:
// the `routing:` section, per-link BGP settings, relations, costs,
// loopbacks, route reflection and aggregates. As in decode.go, only single
// values are checked here; references and everything that needs more than
// one value are the resolver's (resolve_policy.go).

// Field lists of the sections below, in the order error messages show them.
var (
	routingFields        = []string{"prefix", "aspath", "community", "policy"}
	prefixEntryFields    = []string{"prefix", "min", "max", "action"}
	aspathEntryFields    = []string{"path", "action"}
	communityEntryFields = []string{"community", "large", "action"}
	policyEntryFields    = []string{"action", "match", "set"}
	matchFields          = []string{"prefix", "aspath", "community", "origin", "neighbor-as"}
	setFields            = []string{"local-pref", "med", "weight", "prepend", "origin", "community", "large-community"}
	communitySetFields   = []string{"add", "set", "delete"}
	endBGPFields         = []string{"local-pref", "med", "prepend", "weight", "policy", "max-prefix", "passive", "shutdown", "password", "remote-as", "default-originate", "allowas-in", "leak"}
	policyRefFields      = []string{"in", "out"}
	maxPrefixFields      = []string{"limit", "warning-only"}
	relationLPFields     = []string{"customer", "peer", "provider"}
	aggregateFields      = []string{"prefix", "summary-only", "as-set"}
)

// policyNameRE is the shape of the name of a routing object.
var policyNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

// Limits of single values.
const (
	maxPrepend    = 32  // copies of our AS, or ASNs listed
	maxAllowASIn  = 10  // FRR's limit
	maxShutdown   = 255 // RFC 9003: the Shutdown Communication's length
	maxPasswordSz = 80  // Linux's TCP_MD5SIG_MAXKEYLEN
	maxCost       = 65535
	// DefaultCost is a link's underlay metric when the file sets none.
	DefaultCost = 10
	// DefaultAllowASIn is what `allowas-in: true` means: FRR's default.
	DefaultAllowASIn = 3
)

type rawRelLP struct {
	customer, peer, provider setting[uint32]
}

type rawRouting struct {
	prefix    []*PrefixList
	aspath    []*ASPathList
	community []*CommunityList
	policy    []*rawPolicy
}

type rawPolicy struct {
	name    string
	pos     Pos
	entries []*rawPolicyEntry
}

// rawPolicyEntry is a policy entry whose references to lists are still
// names.
type rawPolicyEntry struct {
	e                         PolicyEntry
	prefix, aspath, community setting[string]
	// commDelete and largeDelete name the community lists of
	// set.community.delete and set.large-community.delete.
	commDelete, largeDelete setting[string]
	// setWeight and setLocalPref are where the entry sets them, for the
	// resolver's check of the direction the policy is used in.
	setWeight, setLocalPref setting[struct{}]
}

// rawEndBGP is one router end's settings under a link's `bgp:`.
type rawEndBGP struct {
	end rawName
	// v holds the decoded values, except the ones below that need the
	// resolver (policies by name, the password and leak, which depend on
	// the link).
	v                   EndBGP
	policyIn, policyOut setting[string]
	password            setting[string]
	leak                setting[bool]
}

// uint32p decodes an optional 32-bit value in [lo, hi] as a pointer.
func (d *decoder) uint32p(n *yaml.Node, what string, lo, hi uint64) (*uint32, bool) {
	v, ok := d.uint(n, what, lo, hi)
	if !ok {
		return nil, false
	}
	x := uint32(v)
	return &x, true
}

// action decodes `action: permit | deny`; deny is true for deny.
func (d *decoder) action(n *yaml.Node, what string) (deny, ok bool) {
	s, ok := d.scalar(n, "the action of "+what, "permit or deny")
	if !ok {
		return false, false
	}
	switch s {
	case "permit":
		return false, true
	case "deny":
		return true, true
	}
	d.nodeErr(n, ErrValue, "unknown action %q for %s; expected permit or deny", s, what)
	return false, false
}

// origin decodes igp, egp or incomplete.
func (d *decoder) origin(n *yaml.Node, what string) (*uint8, bool) {
	s, ok := d.scalar(n, what, "igp, egp or incomplete")
	if !ok {
		return nil, false
	}
	for _, o := range []uint8{OriginIGP, OriginEGP, OriginIncomplete} {
		if s == OriginString(o) {
			return &o, true
		}
	}
	d.nodeErr(n, ErrValue, "unknown origin %q for %s; expected igp, egp or incomplete", s, what)
	return nil, false
}

// clusterID decodes a CLUSTER_ID: an IPv4 address.
func (d *decoder) clusterID(n *yaml.Node, what string) (netip.Addr, bool) {
	const expected = "an IPv4 address (like 10.0.0.1 or 0.0.0.1)"
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		d.nodeErr(n, ErrValue, "expected %s for %s, got %q: a CLUSTER_ID is 32 bits (RFC 4456)", expected, what, s)
		return netip.Addr{}, false
	}
	return a, true
}

func (d *decoder) ibgpMode(n *yaml.Node, what string) (IBGPMode, bool) {
	const expected = "full-mesh, route-reflector or per-link"
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return 0, false
	}
	for _, m := range []IBGPMode{IBGPFullMesh, IBGPRouteReflector, IBGPPerLink} {
		if s == m.String() {
			return m, true
		}
	}
	d.nodeErr(n, ErrValue, "unknown iBGP mode %q for %s; expected %s", s, what, expected)
	return 0, false
}

// prepend decodes a count of our own AS (1..32) or a list of ASNs.
func (d *decoder) prepend(n *yaml.Node, what string) (Prepend, bool) {
	if n = d.visit(n); n == nil {
		return Prepend{}, false
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int":
		v, ok := d.uint(n, what, 1, maxPrepend)
		return Prepend{Count: int(v)}, ok
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 || len(n.Content) > maxPrepend {
			d.nodeErr(n, ErrValue, "%s lists %d AS numbers; expected 1 to %d", what, len(n.Content), maxPrepend)
			return Prepend{}, false
		}
		var p Prepend
		for _, c := range n.Content {
			a, ok := d.asNumber(c, "an AS in "+what)
			if !ok {
				return Prepend{}, false
			}
			p.ASNs = append(p.ASNs, a)
		}
		return p, true
	}
	d.nodeErr(n, ErrType, "expected a count of our own AS (1 to %d) or a list of AS numbers for %s, got %s", maxPrepend, what, kindName(n))
	return Prepend{}, false
}

// policyName decodes the name of a routing object (a definition or a
// reference).
func (d *decoder) policyName(n *yaml.Node, what string) (string, bool) {
	s, ok := d.scalar(n, what, "a name")
	if !ok {
		return "", false
	}
	if !policyNameRE.MatchString(s) {
		d.nodeErr(n, ErrValue, "%q is not a valid name for %s; expected a letter followed by letters, digits, '-', '_' or '.'", s, what)
		return "", false
	}
	return s, true
}

func (d *decoder) decodeRelationLocalPref(n *yaml.Node) rawRelLP {
	var r rawRelLP
	f, ok := d.object(n, "relation-local-pref", relationLPFields...)
	if !ok {
		return r
	}
	for _, k := range []struct {
		key string
		s   *setting[uint32]
	}{{"customer", &r.customer}, {"peer", &r.peer}, {"provider", &r.provider}} {
		if p, ok := f[k.key]; ok {
			if v, ok := d.uint(p.val, "relation-local-pref "+k.key, 0, math.MaxUint32); ok {
				k.s.put(uint32(v), d.pos(p.val))
			}
		}
	}
	return r
}

func (d *decoder) decodeRouting(n *yaml.Node) rawRouting {
	var r rawRouting
	f, ok := d.object(n, "routing", routingFields...)
	if !ok {
		return r
	}
	// named walks one kind's mapping of names to lists of entries.
	named := func(key, kind string, entry func(name string, p kv)) {
		q, ok := f[key]
		if !ok {
			return
		}
		pairs, _ := d.mapping(q.val, "routing "+key)
		for _, p := range pairs {
			name, ok := d.policyName(p.key, "a "+kind)
			if !ok {
				continue
			}
			entry(name, p)
		}
	}
	// entries returns the items of a named object's list, which may not
	// be empty.
	entries := func(p kv, what string) []*yaml.Node {
		items, ok := d.list(p.val, what)
		if ok && len(items) == 0 {
			d.nodeErr(p.key, ErrMissing, "%s has no entries; expected a list of at least one", what)
		}
		return items
	}
	named("prefix", "prefix list", func(name string, p kv) {
		l := &PrefixList{Name: name, Pos: d.pos(p.key)}
		what := fmt.Sprintf("prefix list %q", name)
		for i, it := range entries(p, what) {
			if e, ok := d.prefixEntry(it, fmt.Sprintf("entry %d of %s", i+1, what)); ok {
				l.Entries = append(l.Entries, e)
			}
		}
		r.prefix = append(r.prefix, l)
	})
	named("aspath", "AS-path list", func(name string, p kv) {
		l := &ASPathList{Name: name, Pos: d.pos(p.key)}
		what := fmt.Sprintf("AS-path list %q", name)
		for i, it := range entries(p, what) {
			if e, ok := d.aspathEntry(it, fmt.Sprintf("entry %d of %s", i+1, what)); ok {
				l.Entries = append(l.Entries, e)
			}
		}
		r.aspath = append(r.aspath, l)
	})
	named("community", "community list", func(name string, p kv) {
		l := &CommunityList{Name: name, Pos: d.pos(p.key)}
		what := fmt.Sprintf("community list %q", name)
		for i, it := range entries(p, what) {
			if e, ok := d.communityEntry(it, fmt.Sprintf("entry %d of %s", i+1, what)); ok {
				l.Entries = append(l.Entries, e)
			}
		}
		r.community = append(r.community, l)
	})
	named("policy", "policy", func(name string, p kv) {
		rp := &rawPolicy{name: name, pos: d.pos(p.key)}
		what := fmt.Sprintf("policy %q", name)
		for i, it := range entries(p, what) {
			if e, ok := d.policyEntry(it, fmt.Sprintf("entry %d of %s", i+1, what)); ok {
				rp.entries = append(rp.entries, e)
			}
		}
		r.policy = append(r.policy, rp)
	})
	return r
}

// prefixEntry decodes a prefix-list entry: a prefix alone (permit, exact
// length) or {prefix, min, max, action}.
func (d *decoder) prefixEntry(it *yaml.Node, what string) (PrefixEntry, bool) {
	e := PrefixEntry{Pos: d.pos(it)}
	pn := it
	var lo, hi setting[int]
	good := true
	if it.Kind != yaml.ScalarNode {
		f, ok := d.object(it, what, prefixEntryFields...)
		if !ok {
			return e, false
		}
		q, ok := f["prefix"]
		if !ok {
			d.nodeErr(it, ErrMissing, "%s has no prefix; expected `prefix: 10.0.0.0/8`", what)
			return e, false
		}
		pn = q.val
		if q, ok := f["min"]; ok {
			v, ok := d.uint(q.val, "the min of "+what, 0, 128)
			good = good && ok
			lo.put(int(v), d.pos(q.val))
		}
		if q, ok := f["max"]; ok {
			v, ok := d.uint(q.val, "the max of "+what, 0, 128)
			good = good && ok
			hi.put(int(v), d.pos(q.val))
		}
		if q, ok := f["action"]; ok {
			deny, ok := d.action(q.val, what)
			good = good && ok
			e.Deny = deny
		}
	}
	p, ok := d.prefix(pn, what)
	if !ok || !good {
		return e, false
	}
	e.Prefix = p
	width := p.Addr().BitLen()
	e.Min, e.Max = p.Bits(), p.Bits()
	if lo.set {
		e.Min, e.Max = lo.v, width
	}
	if hi.set {
		e.Max = hi.v
	}
	switch {
	case lo.set && lo.v > width:
		d.errorf(lo.pos, ErrValue, "min %d of %s is longer than an %s prefix can be (/%d)", lo.v, what, FamilyOf(p.Addr()), width)
	case hi.set && hi.v > width:
		d.errorf(hi.pos, ErrValue, "max %d of %s is longer than an %s prefix can be (/%d)", hi.v, what, FamilyOf(p.Addr()), width)
	case lo.set && lo.v < p.Bits():
		d.errorf(lo.pos, ErrValue, "min %d of %s is shorter than %s itself: a route inside it is at least /%d long", lo.v, what, p, p.Bits())
	case hi.set && !lo.set && hi.v < p.Bits():
		d.errorf(hi.pos, ErrValue, "max %d of %s is shorter than %s itself: a route inside it is at least /%d long", hi.v, what, p, p.Bits())
	case e.Min > e.Max:
		d.errorf(hi.pos, ErrValue, "min %d is greater than max %d in %s: no route length is in between", e.Min, e.Max, what)
	default:
		return e, true
	}
	return e, false
}

// aspathEntry decodes an AS-path list entry: a regular expression alone
// (permit) or {path, action}.
func (d *decoder) aspathEntry(it *yaml.Node, what string) (ASPathEntry, bool) {
	e := ASPathEntry{Pos: d.pos(it)}
	pn := it
	if it.Kind != yaml.ScalarNode {
		f, ok := d.object(it, what, aspathEntryFields...)
		if !ok {
			return e, false
		}
		q, ok := f["path"]
		if !ok {
			d.nodeErr(it, ErrMissing, "%s has no path; expected `path: \"_65001$\"` (an FRR AS-path regular expression)", what)
			return e, false
		}
		pn = q.val
		if q, ok := f["action"]; ok {
			deny, ok := d.action(q.val, what)
			if !ok {
				return e, false
			}
			e.Deny = deny
		}
	}
	s, ok := d.scalar(pn, "the path of "+what, "an AS-path regular expression")
	if !ok {
		return e, false
	}
	if _, err := ASPathRegexp(s); err != nil {
		msg := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			msg = string(se.Code)
			if !strings.Contains(se.Expr, "(^|[,{}() ]|$)") && se.Expr != "" {
				msg += ": `" + se.Expr + "`"
			}
		}
		d.nodeErr(pn, ErrValue, "AS-path regular expression %q of %s does not compile: %s", s, what, msg)
		return e, false
	}
	e.Path = s
	return e, true
}

// communityEntry decodes a community list entry: a community alone
// (permit; "G:L1:L2" is a large one) or {community | large, action}.
func (d *decoder) communityEntry(it *yaml.Node, what string) (CommunityEntry, bool) {
	e := CommunityEntry{Pos: d.pos(it)}
	if it.Kind == yaml.ScalarNode {
		if strings.Count(it.Value, ":") == 2 {
			v, ok := d.largeCommunityValue(it, what)
			e.Large, e.IsLarge = v, true
			return e, ok
		}
		v, ok := d.communityValue(it, what)
		e.Community = v
		return e, ok
	}
	f, ok := d.object(it, what, communityEntryFields...)
	if !ok {
		return e, false
	}
	c, hasC := f["community"]
	l, hasL := f["large"]
	switch {
	case hasC && hasL:
		d.nodeErr(l.key, ErrValue, "%s has both community and large; an entry is one or the other", what)
		return e, false
	case !hasC && !hasL:
		d.nodeErr(it, ErrMissing, "%s has neither community nor large; expected `community: \"65001:100\"` or `large: \"65001:1:2\"`", what)
		return e, false
	}
	good := true
	if q, ok := f["action"]; ok {
		e.Deny, good = d.action(q.val, what)
	}
	if hasC {
		v, ok := d.communityValue(c.val, what)
		e.Community, good = v, good && ok
	} else {
		v, ok := d.largeCommunityValue(l.val, what)
		e.Large, e.IsLarge, good = v, true, good && ok
	}
	return e, good
}

// policyEntry decodes {action, match, set}.
func (d *decoder) policyEntry(it *yaml.Node, what string) (*rawPolicyEntry, bool) {
	re := &rawPolicyEntry{e: PolicyEntry{Pos: d.pos(it)}}
	f, ok := d.object(it, what, policyEntryFields...)
	if !ok {
		return nil, false
	}
	good := true
	if q, ok := f["action"]; ok {
		re.e.Deny, good = d.action(q.val, what)
	}
	if q, ok := f["match"]; ok {
		good = d.decodeMatch(q.val, "the match of "+what, re) && good
	}
	if q, ok := f["set"]; ok {
		good = d.decodeSet(q.val, "the set of "+what, re) && good
	}
	return re, good
}

func (d *decoder) decodeMatch(n *yaml.Node, what string, re *rawPolicyEntry) bool {
	f, ok := d.object(n, what, matchFields...)
	if !ok {
		return false
	}
	good := true
	ref := func(key string, s *setting[string]) {
		if q, ok := f[key]; ok {
			name, ok := d.policyName(q.val, key+" in "+what)
			good = good && ok
			s.put(name, d.pos(q.val))
		}
	}
	ref("prefix", &re.prefix)
	ref("aspath", &re.aspath)
	ref("community", &re.community)
	if q, ok := f["origin"]; ok {
		o, ok := d.origin(q.val, "origin in "+what)
		re.e.Match.Origin, good = o, good && ok
	}
	if q, ok := f["neighbor-as"]; ok {
		a, ok := d.asNumber(q.val, "neighbor-as in "+what)
		re.e.Match.NeighborAS, good = a, good && ok
	}
	return good
}

func (d *decoder) decodeSet(n *yaml.Node, what string, re *rawPolicyEntry) bool {
	f, ok := d.object(n, what, setFields...)
	if !ok {
		return false
	}
	s := &re.e.Set
	good := true
	if q, ok := f["local-pref"]; ok {
		v, ok := d.uint32p(q.val, "local-pref in "+what, 0, math.MaxUint32)
		s.LocalPref, good = v, good && ok
		re.setLocalPref.put(struct{}{}, d.pos(q.key))
	}
	if q, ok := f["med"]; ok {
		v, ok := d.uint32p(q.val, "med in "+what, 0, math.MaxUint32)
		s.MED, good = v, good && ok
	}
	if q, ok := f["weight"]; ok {
		v, ok := d.uint32p(q.val, "weight in "+what, 0, 65535)
		s.Weight, good = v, good && ok
		re.setWeight.put(struct{}{}, d.pos(q.key))
	}
	if q, ok := f["prepend"]; ok {
		v, ok := d.prepend(q.val, "prepend in "+what)
		s.Prepend, good = v, good && ok
	}
	if q, ok := f["origin"]; ok {
		v, ok := d.origin(q.val, "origin in "+what)
		s.Origin, good = v, good && ok
	}
	if q, ok := f["community"]; ok {
		good = d.decodeCommunitySet(q.val, "community in "+what, false, re) && good
	}
	if q, ok := f["large-community"]; ok {
		good = d.decodeCommunitySet(q.val, "large-community in "+what, true, re) && good
	}
	return good
}

// decodeCommunitySet decodes {add, set, delete} of standard (large false)
// or large communities.
func (d *decoder) decodeCommunitySet(n *yaml.Node, what string, large bool, re *rawPolicyEntry) bool {
	f, ok := d.object(n, what, communitySetFields...)
	if !ok {
		return false
	}
	good := true
	var c CommunitySet
	var lc LargeCommunitySet
	values := func(key string) (std []uint32, lg [][3]uint32) {
		items, ok := d.list(f[key].val, key+" of "+what)
		good = good && ok
		std, lg = []uint32{}, [][3]uint32{}
		for _, it := range items {
			if large {
				v, ok := d.largeCommunityValue(it, key+" of "+what)
				good = good && ok
				lg = append(lg, v)
			} else {
				v, ok := d.communityValue(it, key+" of "+what)
				good = good && ok
				std = append(std, v)
			}
		}
		return std, lg
	}
	if _, ok := f["set"]; ok {
		c.Replace, lc.Replace = true, true
		c.Set, lc.Set = values("set")
		for _, other := range []string{"add", "delete"} {
			if q, ok := f[other]; ok {
				d.nodeErr(q.key, ErrValue, "%s has both set and %s: set replaces all the route's communities, so list them all in set", what, other)
				good = false
			}
		}
	}
	if _, ok := f["add"]; ok {
		c.Add, lc.Add = values("add")
		if len(c.Add)+len(lc.Add) == 0 {
			d.nodeErr(f["add"].val, ErrMissing, "add of %s is empty; list at least one community", what)
			good = false
		}
	}
	if q, ok := f["delete"]; ok {
		// A name is a community list; a list holds the communities.
		if v := d.visit(q.val); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
			name, ok := d.policyName(v, "delete of "+what+" (the name of a community list, or a list of communities)")
			good = good && ok
			s := &re.commDelete
			if large {
				s = &re.largeDelete
			}
			s.put(name, d.pos(v))
		} else {
			c.Delete, lc.Delete = values("delete")
			if len(c.Delete)+len(lc.Delete) == 0 {
				d.nodeErr(q.val, ErrMissing, "delete of %s is empty; name a community list or list at least one community", what)
				good = false
			}
		}
	}
	if large {
		re.e.Set.LargeCommunity = lc
	} else {
		re.e.Set.Community = c
	}
	return good
}

// decodeLinkPolicy decodes a link's bgp, relation and cost.
func (d *decoder) decodeLinkPolicy(k *rawLink, f map[string]kv, what string) {
	if q, ok := f["relation"]; ok {
		k.relationGiven = true
		const expected = "provider-customer, customer-provider or peer"
		if s, ok := d.scalar(q.val, "the relation of "+what, expected); ok {
			found := false
			for _, r := range []Relation{RelProviderCustomer, RelCustomerProvider, RelPeer} {
				if s == r.String() {
					k.relation.put(r, d.pos(q.val))
					found = true
				}
			}
			if !found {
				d.nodeErr(q.val, ErrValue, "unknown relation %q for %s; expected %s (the first endpoint's role comes first)", s, what, expected)
			}
		}
	}
	if q, ok := f["cost"]; ok {
		if v, ok := d.uint(q.val, "the cost of "+what, 1, maxCost); ok {
			k.cost.put(int(v), d.pos(q.val))
		}
	}
	q, ok := f["bgp"]
	if !ok {
		return
	}
	pairs, _ := d.mapping(q.val, "the bgp settings of "+what)
	for _, p := range pairs {
		e := &rawEndBGP{end: rawName{p.key.Value, d.pos(p.key)}}
		e.v.Pos = d.pos(p.key)
		d.decodeEndBGP(p.val, fmt.Sprintf("the bgp settings of %s on %s", p.key.Value, what), e)
		k.bgp = append(k.bgp, e)
	}
}

func (d *decoder) decodeEndBGP(n *yaml.Node, what string, e *rawEndBGP) {
	f, ok := d.object(n, what, endBGPFields...)
	if !ok {
		return
	}
	v := &e.v
	if q, ok := f["local-pref"]; ok {
		v.LocalPref, _ = d.uint32p(q.val, "local-pref in "+what, 0, math.MaxUint32)
	}
	if q, ok := f["med"]; ok {
		v.MED, _ = d.uint32p(q.val, "med in "+what, 0, math.MaxUint32)
	}
	if q, ok := f["weight"]; ok {
		v.Weight, _ = d.uint32p(q.val, "weight in "+what, 0, 65535)
	}
	if q, ok := f["prepend"]; ok {
		v.Prepend, _ = d.prepend(q.val, "prepend in "+what)
	}
	if q, ok := f["policy"]; ok {
		if g, ok := d.object(q.val, "policy in "+what, policyRefFields...); ok {
			if len(g) == 0 {
				d.nodeErr(q.val, ErrMissing, "policy in %s names no policy; expected {in: NAME, out: NAME} (either or both)", what)
			}
			for _, k := range []struct {
				key string
				s   *setting[string]
			}{{"in", &e.policyIn}, {"out", &e.policyOut}} {
				if p, ok := g[k.key]; ok {
					if name, ok := d.policyName(p.val, "the "+k.key+" policy of "+what); ok {
						k.s.put(name, d.pos(p.val))
					}
				}
			}
		}
	}
	if q, ok := f["max-prefix"]; ok {
		d.maxPrefix(q.val, "max-prefix in "+what, v)
	}
	if q, ok := f["passive"]; ok {
		v.Passive, _ = d.bool(q.val, "passive in "+what)
	}
	if q, ok := f["shutdown"]; ok {
		d.shutdown(q.val, "shutdown in "+what, v)
	}
	if q, ok := f["password"]; ok {
		if s, ok := d.scalar(q.val, "password in "+what, "a TCP MD5 key"); ok {
			if len(s) > maxPasswordSz {
				d.nodeErr(q.val, ErrValue, "the password in %s is %d bytes long; TCP MD5 keys are at most %d bytes", what, len(s), maxPasswordSz)
			} else {
				e.password.put(s, d.pos(q.val))
			}
		}
	}
	if q, ok := f["remote-as"]; ok {
		v.RemoteAS, _ = d.asNumber(q.val, "remote-as in "+what)
	}
	if q, ok := f["default-originate"]; ok {
		v.DefaultOriginate, _ = d.bool(q.val, "default-originate in "+what)
	}
	if q, ok := f["allowas-in"]; ok {
		d.allowASIn(q.val, "allowas-in in "+what, v)
	}
	if q, ok := f["leak"]; ok {
		if b, ok := d.bool(q.val, "leak in "+what); ok {
			e.leak.put(b, d.pos(q.key))
		}
	}
}

// maxPrefix decodes N or {limit: N, warning-only: BOOL}.
func (d *decoder) maxPrefix(n *yaml.Node, what string, v *EndBGP) {
	if n = d.visit(n); n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		f, ok := d.object(n, what, maxPrefixFields...)
		if !ok {
			return
		}
		q, ok := f["limit"]
		if !ok {
			d.nodeErr(n, ErrMissing, "%s has no limit; expected `{limit: 1000, warning-only: true}`", what)
			return
		}
		limit, ok := d.uint(q.val, "the limit of "+what, 1, math.MaxUint32)
		if !ok {
			return
		}
		v.MaxPrefix = int(limit)
		if q, ok := f["warning-only"]; ok {
			v.MaxPrefixWarningOnly, _ = d.bool(q.val, "warning-only in "+what)
		}
		return
	}
	if limit, ok := d.uint(n, what, 1, math.MaxUint32); ok {
		v.MaxPrefix = int(limit)
	}
}

// shutdown decodes true, false, or a message (which means true).
func (d *decoder) shutdown(n *yaml.Node, what string, v *EndBGP) {
	if n = d.visit(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		v.Shutdown, _ = d.bool(n, what)
		return
	}
	s, ok := d.scalar(n, what, "true, false or a shutdown message")
	if !ok {
		return
	}
	switch {
	case len(s) > maxShutdown:
		d.nodeErr(n, ErrValue, "the message of %s is %d bytes long; a shutdown communication is at most %d bytes of UTF-8 (RFC 9003)", what, len(s), maxShutdown)
	case !utf8.ValidString(s):
		d.nodeErr(n, ErrValue, "the message of %s is not valid UTF-8 (RFC 9003)", what)
	default:
		v.Shutdown, v.ShutdownMessage = true, s
	}
}

// allowASIn decodes true (3, as FRR), false (0), or a count 1..10.
func (d *decoder) allowASIn(n *yaml.Node, what string, v *EndBGP) {
	if n = d.visit(n); n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if b, ok := d.bool(n, what); ok && b {
			v.AllowASIn = DefaultAllowASIn
		}
		return
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.nodeErr(n, ErrType, "expected true, false or a count from 1 to %d for %s, got %s", maxAllowASIn, what, kindName(n))
		return
	}
	if c, ok := d.uint(n, what, 1, maxAllowASIn); ok {
		v.AllowASIn = int(c)
	}
}

// decodeRouterIBGP decodes a router's loopback, rr, cluster-id,
// next-hop-self and aggregate.
func (d *decoder) decodeRouterIBGP(r *rawRouter, f map[string]kv, what string) {
	if q, ok := f["loopback"]; ok {
		items, _ := d.list(q.val, "the loopback of "+what)
		for _, it := range items {
			if a, ok := d.loopback(it, "the loopback of "+what); ok {
				r.loopbacks = append(r.loopbacks, a)
			}
		}
	}
	if q, ok := f["rr"]; ok {
		if v, ok := d.bool(q.val, "rr of "+what); ok {
			r.rr.put(v, d.pos(q.key))
		}
	}
	if q, ok := f["cluster-id"]; ok {
		if v, ok := d.clusterID(q.val, "the cluster-id of "+what); ok {
			r.clusterID.put(v, d.pos(q.key))
		}
	}
	if q, ok := f["next-hop-self"]; ok {
		if v, ok := d.bool(q.val, "next-hop-self of "+what); ok {
			r.nextHopSelf.put(v, d.pos(q.val))
		}
	}
	if q, ok := f["aggregate"]; ok {
		items, _ := d.list(q.val, "the aggregates of "+what)
		for _, it := range items {
			if a, ok := d.aggregate(it, what); ok {
				r.aggregates = append(r.aggregates, a)
			}
		}
	}
}

// loopback decodes a loopback address: written alone, or with /32 or /128.
func (d *decoder) loopback(n *yaml.Node, what string) (rawAddr, bool) {
	const expected = "an address (like 10.253.0.1 or fd00:fffe::1), alone or with /32 or /128"
	s, ok := d.scalar(n, what, expected)
	if !ok {
		return rawAddr{}, false
	}
	var a netip.Addr
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Bits() != p.Addr().BitLen() {
			d.nodeErr(n, ErrAddress, "%s for %s has a /%d; a loopback is one address: write %s or %s/%d", s, what, p.Bits(), p.Addr(), p.Addr(), p.Addr().BitLen())
			return rawAddr{}, false
		}
		a = p.Addr()
	} else if a, err = netip.ParseAddr(s); err != nil || a.Zone() != "" {
		d.nodeErr(n, ErrAddress, "expected %s for %s, got %q", expected, what, s)
		return rawAddr{}, false
	}
	if why := hostAddrProblem(a); why != "" {
		d.nodeErr(n, ErrAddress, "%s for %s %s", a, what, why)
		return rawAddr{}, false
	}
	return rawAddr{p: netip.PrefixFrom(a, a.BitLen()), pos: d.pos(n)}, true
}

// hostAddrProblem says why a cannot be a router's own address, or "".
func hostAddrProblem(a netip.Addr) string {
	switch {
	case a.Is4In6():
		return "is an IPv4-mapped IPv6 address; write the IPv4 address itself"
	case a.IsUnspecified():
		return "is the unspecified address"
	case a.IsLoopback():
		return "is in the kernel's own loopback range (127.0.0.0/8, ::1); choose a global address"
	case a.IsMulticast():
		return "is a multicast address"
	case a.IsLinkLocalUnicast():
		return "is a link-local address; a loopback is a global address"
	case a.Is4() && zeroNet4.Contains(a):
		return "is in 0.0.0.0/8 (\"this network\", RFC 1122)"
	case a.Is4() && classE4.Contains(a):
		return "is in the reserved 240.0.0.0/4"
	}
	return ""
}

// aggregate decodes a prefix alone or {prefix, summary-only, as-set}.
func (d *decoder) aggregate(it *yaml.Node, router string) (Aggregate, bool) {
	what := "an aggregate of " + router
	a := Aggregate{Pos: d.pos(it)}
	pn := it
	good := true
	if it.Kind != yaml.ScalarNode {
		f, ok := d.object(it, what, aggregateFields...)
		if !ok {
			return a, false
		}
		q, ok := f["prefix"]
		if !ok {
			d.nodeErr(it, ErrMissing, "%s has no prefix; expected `prefix: 10.0.0.0/16`", what)
			return a, false
		}
		pn = q.val
		if q, ok := f["summary-only"]; ok {
			a.SummaryOnly, good = d.bool(q.val, "summary-only of "+what)
		}
		if q, ok := f["as-set"]; ok {
			v, ok := d.bool(q.val, "as-set of "+what)
			a.ASSet, good = v, good && ok
		}
	}
	p, ok := d.prefix(pn, what)
	if !ok || !d.originable(pn, p, router) {
		return a, false
	}
	if p.Bits() == p.Addr().BitLen() {
		d.nodeErr(pn, ErrValue, "%s for %s is a /%d: an aggregate stands for the more specific routes inside it, and a /%d has none", p, what, p.Bits(), p.Bits())
		return a, false
	}
	a.Prefix = p
	return a, good
}
