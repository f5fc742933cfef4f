package policy

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync/atomic"

	"lab/speaker/rib"
)

// Policies is a compiled Config: its policies, ready to apply, with their
// hit counters. It is immutable but for the counters, which are atomic:
// safe for concurrent use. Counters count for the Policies they are in:
// compile one per speaker to count per router.
type Policies struct {
	cfg    Config
	maps   []*RouteMap
	byName map[string]*RouteMap
}

// RouteMap is one compiled policy. A nil *RouteMap is no policy at all: it
// permits every route unchanged.
type RouteMap struct {
	name    string
	entries []entry
	// noMatch counts the routes no entry matched (the implicit deny).
	noMatch atomic.Uint64
}

// entry is a compiled Entry.
type entry struct {
	cfg        *Entry
	deny       bool
	prefix     *prefixList
	aspath     *asPathList
	community  *communityList
	hasOrigin  bool
	origin     rib.Origin
	neighborAS uint32
	set        setOps
	hits       atomic.Uint64
}

type prefixList struct {
	entries []prefixEntry
}

type prefixEntry struct {
	prefix   netip.Prefix
	is4      bool
	min, max int
	deny     bool
}

type asPathList struct {
	entries []asPathEntry
}

type asPathEntry struct {
	re *regexp.Regexp
	// lit is a string every match contains (requiredLiteral), or nil:
	// checked first, it spares the regular expression most paths that
	// do not match, which cost it the most (it tries every position).
	lit  []byte
	deny bool
}

type communityList struct {
	entries []CommunityEntry
}

// setOps are an entry's compiled set clauses.
type setOps struct {
	none                   bool // no clause: Apply returns its input
	hasLocalPref           bool
	localPref              uint32
	hasMED                 bool
	med                    uint32
	hasWeight              bool
	weight                 uint32
	hasOrigin              bool
	origin                 rib.Origin
	prependCount           int
	prependASNs            []uint32
	community              commOps[uint32]
	large                  commOps[rib.LargeCommunity]
	hasCommunity, hasLarge bool // whether community or large have anything to do
}

// commOps is a compiled CommunitySet or LargeCommunitySet: every slice
// sorted, without duplicates.
type commOps[T any] struct {
	replace bool
	set     []T
	del     []T
	add     []T
}

func (o *commOps[T]) active() bool { return o.replace || len(o.del) > 0 || len(o.add) > 0 }

// separator is what FRR makes of `_` in an AS-path regular expression:
// a separator between ASNs or segments, or either end of the path.
const separator = "(^|[,{}() ]|$)"

// ASPathRegexp compiles an AS-path regular expression written in FRR's
// syntax: POSIX extended (Perl's additions such as \d are refused, as
// FRR's regcomp does not have them), where every `_` stands for
// separator: `_65001_` finds AS 65001 anywhere in "65002 65001 {3,4}".
// The error names the expression as written.
func ASPathRegexp(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, errors.New("empty regular expression")
	}
	re, err := regexp.CompilePOSIX(strings.ReplaceAll(s, "_", separator))
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			// se.Expr is a piece of the translated expression: name the
			// written one instead.
			return nil, fmt.Errorf("bad regular expression %q: %s", s, se.Code)
		}
		return nil, fmt.Errorf("bad regular expression %q: %v", s, err)
	}
	return re, nil
}

// requiredLiteral returns the longest literal string that every match of
// the AS-path expression s (compiled already) contains, or nil: the
// literals concatenated at the top of the expression, or inside groups
// there.
func requiredLiteral(s string) []byte {
	re, err := syntax.Parse(strings.ReplaceAll(s, "_", separator), syntax.POSIX)
	if err != nil {
		return nil
	}
	var best []rune
	var walk func(*syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase == 0 && len(re.Rune) > len(best) {
				best = re.Rune
			}
		case syntax.OpCapture, syntax.OpConcat:
			for _, sub := range re.Sub {
				walk(sub)
			}
		}
	}
	walk(re)
	if len(best) == 0 {
		return nil
	}
	return []byte(string(best))
}

// Compile checks cfg and compiles its policies. Every error names the
// object and the entry (counted from 1). Compile keeps cfg for Show: do
// not change it afterwards.
func Compile(cfg Config) (*Policies, error) {
	ps := &Policies{cfg: cfg, byName: make(map[string]*RouteMap)}
	prefixes := make(map[string]*prefixList)
	for _, l := range cfg.PrefixLists {
		if err := checkName("prefix list", l.Name, prefixes); err != nil {
			return nil, err
		}
		c, err := compilePrefixList(l)
		if err != nil {
			return nil, err
		}
		prefixes[l.Name] = c
	}
	paths := make(map[string]*asPathList)
	for _, l := range cfg.ASPathLists {
		if err := checkName("as-path list", l.Name, paths); err != nil {
			return nil, err
		}
		if len(l.Entries) == 0 {
			return nil, fmt.Errorf("as-path list %q has no entries", l.Name)
		}
		c := &asPathList{}
		for i, e := range l.Entries {
			if e.Action > Deny {
				return nil, fmt.Errorf("as-path list %q entry %d: bad action %d", l.Name, i+1, e.Action)
			}
			re, err := ASPathRegexp(e.Regex)
			if err != nil {
				return nil, fmt.Errorf("as-path list %q entry %d: %v", l.Name, i+1, err)
			}
			c.entries = append(c.entries, asPathEntry{re: re, lit: requiredLiteral(e.Regex), deny: e.Action == Deny})
		}
		paths[l.Name] = c
	}
	comms := make(map[string]*communityList)
	for _, l := range cfg.CommunityLists {
		if err := checkName("community list", l.Name, comms); err != nil {
			return nil, err
		}
		if len(l.Entries) == 0 {
			return nil, fmt.Errorf("community list %q has no entries", l.Name)
		}
		for i, e := range l.Entries {
			switch {
			case e.Action > Deny:
				return nil, fmt.Errorf("community list %q entry %d: bad action %d", l.Name, i+1, e.Action)
			case e.IsLarge && e.Community != 0:
				return nil, fmt.Errorf("community list %q entry %d: both a community and a large community", l.Name, i+1)
			case !e.IsLarge && e.Large != (rib.LargeCommunity{}):
				return nil, fmt.Errorf("community list %q entry %d: a large community not marked large", l.Name, i+1)
			}
		}
		comms[l.Name] = &communityList{entries: slices.Clone(l.Entries)}
	}
	for pi := range cfg.Policies {
		p := &cfg.Policies[pi]
		if err := checkName("policy", p.Name, ps.byName); err != nil {
			return nil, err
		}
		m := &RouteMap{name: p.Name, entries: make([]entry, len(p.Entries))}
		for i := range p.Entries {
			if err := compileEntry(&m.entries[i], &p.Entries[i], prefixes, paths, comms); err != nil {
				return nil, fmt.Errorf("policy %q entry %d: %v", p.Name, i+1, err)
			}
		}
		ps.byName[p.Name] = m
		ps.maps = append(ps.maps, m)
	}
	return ps, nil
}

func checkName[T any](kind, name string, seen map[string]T) error {
	if name == "" {
		return fmt.Errorf("a %s has no name", kind)
	}
	if _, dup := seen[name]; dup {
		return fmt.Errorf("%s %q is defined twice", kind, name)
	}
	return nil
}

func compilePrefixList(l PrefixList) (*prefixList, error) {
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("prefix list %q has no entries", l.Name)
	}
	c := &prefixList{}
	for i, e := range l.Entries {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("prefix list %q entry %d: "+format, append([]any{l.Name, i + 1}, a...)...)
		}
		if e.Action > Deny {
			return nil, bad("bad action %d", e.Action)
		}
		if !e.Prefix.IsValid() {
			return nil, bad("no prefix")
		}
		if m := e.Prefix.Masked(); m != e.Prefix {
			return nil, bad("%s has bits set beyond its length (%s?)", e.Prefix, m)
		}
		bits, all := e.Prefix.Bits(), e.Prefix.Addr().BitLen()
		lo, hi := e.Min, e.Max
		if lo == 0 && hi == 0 {
			lo, hi = bits, bits
		}
		switch {
		case lo < bits:
			return nil, bad("min %d is shorter than %s", lo, e.Prefix)
		case hi > all:
			return nil, bad("max %d is longer than an address (%d bits)", hi, all)
		case lo > hi:
			return nil, bad("min %d is greater than max %d", lo, hi)
		}
		c.entries = append(c.entries, prefixEntry{
			prefix: e.Prefix, is4: e.Prefix.Addr().Is4(), min: lo, max: hi, deny: e.Action == Deny,
		})
	}
	return c, nil
}

func compileEntry(c *entry, e *Entry, prefixes map[string]*prefixList, paths map[string]*asPathList, comms map[string]*communityList) error {
	c.cfg = e
	switch e.Action {
	case Permit:
	case Deny:
		c.deny = true
		if !e.Set.empty() {
			return errors.New("a deny entry cannot set anything (a denied route is dropped)")
		}
	default:
		return fmt.Errorf("bad action %d", e.Action)
	}
	m := &e.Match
	if m.PrefixList != "" {
		if c.prefix = prefixes[m.PrefixList]; c.prefix == nil {
			return fmt.Errorf("match: no prefix list %q", m.PrefixList)
		}
	}
	if m.ASPathList != "" {
		if c.aspath = paths[m.ASPathList]; c.aspath == nil {
			return fmt.Errorf("match: no as-path list %q", m.ASPathList)
		}
	}
	if m.CommunityList != "" {
		if c.community = comms[m.CommunityList]; c.community == nil {
			return fmt.Errorf("match: no community list %q", m.CommunityList)
		}
	}
	if m.Origin != nil {
		if *m.Origin > rib.OriginIncomplete {
			return fmt.Errorf("match: bad origin %d", *m.Origin)
		}
		c.hasOrigin, c.origin = true, *m.Origin
	}
	c.neighborAS = m.NeighborAS
	return compileSet(&c.set, &e.Set, comms)
}

// maxPrepend is the most ASNs one AS_SEQUENCE holds (RFC 4271 section
// 4.3).
const maxPrepend = 255

func compileSet(c *setOps, s *Set, comms map[string]*communityList) error {
	c.none = s.empty()
	if s.LocalPref != nil {
		c.hasLocalPref, c.localPref = true, *s.LocalPref
	}
	if s.MED != nil {
		c.hasMED, c.med = true, *s.MED
	}
	if s.Weight != nil {
		c.hasWeight, c.weight = true, *s.Weight
	}
	if s.Origin != nil {
		if *s.Origin > rib.OriginIncomplete {
			return fmt.Errorf("set: bad origin %d", *s.Origin)
		}
		c.hasOrigin, c.origin = true, *s.Origin
	}
	switch pp := s.Prepend; {
	case pp.Count != 0 && len(pp.ASNs) > 0:
		return errors.New("set prepend: both a count and a list of ASNs")
	case pp.Count < 0 || pp.Count > maxPrepend:
		return fmt.Errorf("set prepend: count %d out of range 1..%d", pp.Count, maxPrepend)
	case len(pp.ASNs) > maxPrepend:
		return fmt.Errorf("set prepend: %d ASNs, at most %d", len(pp.ASNs), maxPrepend)
	case slices.Contains(pp.ASNs, 0):
		return errors.New("set prepend: AS 0 is reserved (RFC 7607)")
	}
	c.prependCount, c.prependASNs = s.Prepend.Count, slices.Clone(s.Prepend.ASNs)

	cs := &s.Community
	c.community = commOps[uint32]{
		replace: cs.Set != nil,
		set:     sortedSet(cs.Set, cmp.Compare[uint32]),
		add:     sortedSet(cs.Add, cmp.Compare[uint32]),
	}
	del := slices.Clone(cs.Delete)
	if cs.DeleteList != "" {
		l := comms[cs.DeleteList]
		if l == nil {
			return fmt.Errorf("set community delete: no community list %q", cs.DeleteList)
		}
		n := len(del)
		del = appendDeletable(del, l, false, func(e CommunityEntry) uint32 { return e.Community })
		if len(del) == n && !slices.ContainsFunc(l.entries, func(e CommunityEntry) bool { return !e.IsLarge }) {
			return fmt.Errorf("set community delete: community list %q has no standard community", cs.DeleteList)
		}
	}
	c.community.del = sortedSet(del, cmp.Compare[uint32])

	ls := &s.LargeCommunity
	c.large = commOps[rib.LargeCommunity]{
		replace: ls.Set != nil,
		set:     sortedSet(ls.Set, compareLarge),
		add:     sortedSet(ls.Add, compareLarge),
	}
	ldel := slices.Clone(ls.Delete)
	if ls.DeleteList != "" {
		l := comms[ls.DeleteList]
		if l == nil {
			return fmt.Errorf("set large-community delete: no community list %q", ls.DeleteList)
		}
		n := len(ldel)
		ldel = appendDeletable(ldel, l, true, func(e CommunityEntry) rib.LargeCommunity { return e.Large })
		if len(ldel) == n && !slices.ContainsFunc(l.entries, func(e CommunityEntry) bool { return e.IsLarge }) {
			return fmt.Errorf("set large-community delete: community list %q has no large community", ls.DeleteList)
		}
	}
	c.large.del = sortedSet(ldel, compareLarge)
	c.hasCommunity, c.hasLarge = c.community.active(), c.large.active()
	return nil
}

// appendDeletable appends the values of the entries of l of one kind that
// a route's community would be deleted for: those whose first entry in
// the list permits (a deny entry before a permit one protects its value,
// as FRR's comm-list delete does).
func appendDeletable[T comparable](del []T, l *communityList, large bool, val func(CommunityEntry) T) []T {
	var seen []T
	for _, e := range l.entries {
		if e.IsLarge != large {
			continue
		}
		v := val(e)
		if slices.Contains(seen, v) {
			continue
		}
		seen = append(seen, v)
		if e.Action == Permit {
			del = append(del, v)
		}
	}
	return del
}

// sortedSet returns s sorted without duplicates (nil when empty).
func sortedSet[T any](s []T, compare func(a, b T) int) []T {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.SortFunc(s, compare)
	return slices.CompactFunc(s, func(a, b T) bool { return compare(a, b) == 0 })
}

// Lookup returns the policy named name.
func (ps *Policies) Lookup(name string) (*RouteMap, bool) {
	m, ok := ps.byName[name]
	return m, ok
}

// Names returns the names of the policies, in the Config's order.
func (ps *Policies) Names() []string {
	out := make([]string, len(ps.maps))
	for i, m := range ps.maps {
		out[i] = m.name
	}
	return out
}

// Config returns the configuration the policies were compiled from: read
// it, never change it.
func (ps *Policies) Config() *Config { return &ps.cfg }

// Name returns the policy's name.
func (m *RouteMap) Name() string { return m.name }
