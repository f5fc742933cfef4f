package policy

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"lab/speaker/rib"
	"lab/speaker/ribwire"
)

func u32(v uint32) *uint32 { return &v }

func org(o rib.Origin) *rib.Origin { return &o }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func seq(asns ...uint32) rib.Segment { return rib.Segment{Type: rib.SegSequence, ASNs: asns} }

func set(asns ...uint32) rib.Segment { return rib.Segment{Type: rib.SegSet, ASNs: asns} }

func lc(g, l1, l2 uint32) rib.LargeCommunity {
	return rib.LargeCommunity{Global: g, Local1: l1, Local2: l2}
}

// attrs builds an attribute set with path and communities.
func attrs(path []rib.Segment, comms []uint32, large []rib.LargeCommunity) *rib.Attrs {
	a := &rib.Attrs{ASPath: path}
	if len(comms) > 0 || len(large) > 0 {
		a.Ext = &rib.Ext{Communities: comms, LargeCommunities: large}
	}
	return a
}

func mustCompile(t testing.TB, cfg Config) *Policies {
	t.Helper()
	ps, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return ps
}

func lookup(t testing.TB, ps *Policies, name string) *RouteMap {
	t.Helper()
	m, ok := ps.Lookup(name)
	if !ok {
		t.Fatalf("no policy %q", name)
	}
	return m
}

// matchOnly is a policy permitting what m matches, unchanged.
func matchOnly(m Match) Policy {
	return Policy{Name: "P", Entries: []Entry{{Match: m}}}
}

func TestPrefixList(t *testing.T) {
	list := []PrefixEntry{
		{Prefix: pfx("10.1.0.0/16"), Min: 24, Max: 24, Action: Deny},
		{Prefix: pfx("10.0.0.0/8"), Min: 16, Max: 24},
		{Prefix: pfx("192.0.2.0/24")}, // exact
		{Prefix: pfx("2001:db8::/32"), Min: 48, Max: 64},
		{Prefix: pfx("198.51.100.0/24"), Min: 24, Max: 32, Action: Deny},
		{Prefix: pfx("0.0.0.0/0"), Min: 28, Max: 32},
	}
	tests := []struct {
		prefix string
		want   bool
	}{
		{"10.2.0.0/16", true},
		{"10.2.3.0/24", true},
		{"10.2.3.0/25", false}, // longer than max
		{"10.0.0.0/8", false},  // shorter than min
		{"10.1.2.0/24", false}, // denied by the first entry
		{"10.1.0.0/16", true},  // the first entry is /24 only
		{"192.0.2.0/24", true},
		{"192.0.2.0/25", false},
		{"192.0.0.0/16", false},
		{"2001:db8:1::/48", true},
		{"2001:db8:1:2::/64", true},
		{"2001:db8::/32", false},
		{"2001:db9::/48", false},
		{"198.51.100.0/28", false}, // denied before the catch-all /28-/32
		{"203.0.113.16/28", true},
		{"203.0.113.0/24", false}, // no entry: denied
		{"::/0", false},           // an IPv6 route never matches an IPv4 entry
		{"::ffff:10.2.0.0/112", false},
	}
	ps := mustCompile(t, Config{
		PrefixLists: []PrefixList{{Name: "L", Entries: list}},
		Policies:    []Policy{matchOnly(Match{PrefixList: "L"})},
	})
	m := lookup(t, ps, "P")
	for _, tt := range tests {
		a := attrs(nil, nil, nil)
		got, ok, entry := m.Apply(Route{Prefix: pfx(tt.prefix), Attrs: a})
		if ok != tt.want {
			t.Errorf("%s: permitted %v, want %v", tt.prefix, ok, tt.want)
		}
		if ok && (got != a || entry != 0) || !ok && (got != nil || entry != NoEntry) {
			t.Errorf("%s: Apply = %p, %v, %d", tt.prefix, got, ok, entry)
		}
	}
}

func TestASPathList(t *testing.T) {
	tests := []struct {
		re   string
		path []rib.Segment
		want bool
	}{
		{"_65001_", []rib.Segment{seq(65002, 65001, 3)}, true},
		{"_65001_", []rib.Segment{seq(65001)}, true},
		{"_65001_", []rib.Segment{seq(165001, 650011)}, false},
		{"_1_", []rib.Segment{seq(11, 21, 100)}, false},
		{"^65001_", []rib.Segment{seq(65001, 2)}, true},
		{"^65001_", []rib.Segment{seq(2, 65001)}, false},
		{"_65001$", []rib.Segment{seq(2, 65001)}, true},
		{"_65001$", []rib.Segment{seq(65001, 2)}, false},
		{"^65001$", []rib.Segment{seq(65001)}, true},
		{"^$", nil, true},
		{"^$", []rib.Segment{seq(1)}, false},
		{".*", nil, true},
		{"^65001 65002$", []rib.Segment{seq(65001, 65002)}, true},
		{"^65001_65002$", []rib.Segment{seq(65001, 65002)}, true},
		{"^(65001|65002)_", []rib.Segment{seq(65002, 7)}, true},
		{"^[0-9]+$", []rib.Segment{seq(7)}, true},
		{"^[0-9]+$", []rib.Segment{seq(7, 8)}, false},
		{"^[[:digit:]]+_[[:digit:]]+$", []rib.Segment{seq(7, 8)}, true},
		// AS_SETs render "{3,4}": `_` is a brace or a comma there too.
		{"_3_", []rib.Segment{seq(1, 2), set(3, 4)}, true},
		{"_4_", []rib.Segment{seq(1, 2), set(3, 4)}, true},
		{"_4$", []rib.Segment{seq(1, 2), set(3, 4)}, false}, // "}" ends it
		{`\{3,4\}$`, []rib.Segment{seq(1, 2), set(3, 4)}, true},
		// Unescaped, {3,4} is a repetition, in POSIX as in FRR.
		{"^1 2 {3,4}$", []rib.Segment{seq(1, 2), set(3, 4)}, false},
		{`^1 2 \{3,4\}$`, []rib.Segment{seq(1, 2), set(3, 4)}, true},
		// Confederation segments render "(65001 65002)".
		{"_65002_", []rib.Segment{{Type: rib.SegConfedSequence, ASNs: []uint32{65001, 65002}}, seq(3)}, true},
		{`^\(65001`, []rib.Segment{{Type: rib.SegConfedSequence, ASNs: []uint32{65001}}, seq(3)}, true},
		// Confederation sets render "[5,6]", and FRR's `_` knows no
		// square bracket.
		{"_5_", []rib.Segment{{Type: rib.SegConfedSet, ASNs: []uint32{5, 6}}, seq(3)}, false},
	}
	for _, tt := range tests {
		ps := mustCompile(t, Config{
			ASPathLists: []ASPathList{{Name: "A", Entries: []ASPathEntry{{Regex: tt.re}}}},
			Policies:    []Policy{matchOnly(Match{ASPathList: "A"})},
		})
		r := Route{Prefix: pfx("10.0.0.0/8"), Attrs: attrs(tt.path, nil, nil)}
		if _, got, _ := lookup(t, ps, "P").Apply(r); got != tt.want {
			t.Errorf("%q on %q: %v, want %v", tt.re, ribwire.ASPathString(tt.path), got, tt.want)
		}
	}
}

func TestASPathListOrder(t *testing.T) {
	ps := mustCompile(t, Config{
		ASPathLists: []ASPathList{{Name: "A", Entries: []ASPathEntry{
			{Regex: "_666_", Action: Deny},
			{Regex: "^65001_"},
		}}},
		Policies: []Policy{matchOnly(Match{ASPathList: "A"})},
	})
	m := lookup(t, ps, "P")
	for _, tt := range []struct {
		path []rib.Segment
		want bool
	}{
		{[]rib.Segment{seq(65001, 2)}, true},
		{[]rib.Segment{seq(65001, 666)}, false}, // the deny entry decides first
		{[]rib.Segment{seq(2, 65001)}, false},   // no entry
	} {
		if _, got, _ := m.Apply(Route{Attrs: attrs(tt.path, nil, nil)}); got != tt.want {
			t.Errorf("%q: %v, want %v", ribwire.ASPathString(tt.path), got, tt.want)
		}
	}
}

func TestASPathRegexpErrors(t *testing.T) {
	for _, tt := range []struct{ re, want string }{
		{"", "empty"},
		{"(65001", `bad regular expression "(65001": missing closing )`},
		{`\d+`, `bad regular expression "\\d+"`}, // Perl, not POSIX
		{"[65001", "missing closing ]"},
		{"*1", "missing argument"},
	} {
		_, err := ASPathRegexp(tt.re)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ASPathRegexp(%q) = %v, want an error with %q", tt.re, err, tt.want)
		}
	}
}

// TestPathTextMatchesRibwire checks that the rendering matched by as-path
// lists is ribwire.ASPathString's, FRR's.
func TestPathTextMatchesRibwire(t *testing.T) {
	paths := [][]rib.Segment{
		nil,
		{seq(1)},
		{seq(65001, 4200000000, 3)},
		{seq(1, 2), set(3, 4)},
		{{Type: rib.SegConfedSequence, ASNs: []uint32{65001, 65002}}, {Type: rib.SegConfedSet, ASNs: []uint32{7, 8}}, seq(3), set(9)},
	}
	for _, p := range paths {
		var pt pathText
		got := string(pt.text(p))
		pt.release()
		if want := ribwire.ASPathString(p); got != want {
			t.Errorf("pathText = %q, ribwire.ASPathString = %q", got, want)
		}
	}
}

func TestCommunityList(t *testing.T) {
	noExport, err := ParseCommunity("no-export")
	if err != nil {
		t.Fatal(err)
	}
	list := []CommunityEntry{
		{Community: 65001<<16 | 666, Action: Deny},
		{Community: 65001<<16 | 100},
		{Community: noExport},
		{IsLarge: true, Large: lc(4200000000, 1, 2)},
		{IsLarge: true, Large: lc(4200000000, 9, 9), Action: Deny},
	}
	tests := []struct {
		name  string
		comms []uint32
		large []rib.LargeCommunity
		want  bool
	}{
		{"none", nil, nil, false},
		{"listed", []uint32{1, 65001<<16 | 100}, nil, true},
		{"well-known", []uint32{NoExport}, nil, true},
		{"other well-known", []uint32{NoAdvertise}, nil, false},
		{"deny entry first", []uint32{65001<<16 | 100, 65001<<16 | 666}, nil, false},
		{"large", nil, []rib.LargeCommunity{lc(4200000000, 1, 2)}, true},
		{"large, other value", nil, []rib.LargeCommunity{lc(4200000000, 1, 3)}, false},
		{"a standard value is not a large one", []uint32{1<<16 | 2}, []rib.LargeCommunity{lc(0, 1, 2)}, false},
		// The entries are tried in order: the standard permit comes
		// before the large deny.
		{"large deny after permit", []uint32{NoExport}, []rib.LargeCommunity{lc(4200000000, 9, 9)}, true},
		{"large deny", []uint32{7}, []rib.LargeCommunity{lc(4200000000, 9, 9)}, false},
	}
	ps := mustCompile(t, Config{
		CommunityLists: []CommunityList{{Name: "C", Entries: list}},
		Policies:       []Policy{matchOnly(Match{CommunityList: "C"})},
	})
	m := lookup(t, ps, "P")
	for _, tt := range tests {
		if _, got, _ := m.Apply(Route{Attrs: attrs(nil, tt.comms, tt.large)}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseCommunity(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want uint32
	}{
		{"65001:100", 65001<<16 | 100},
		{"0:0", 0},
		{"65535:65535", 0xFFFFFFFF},
		{"no-export", 0xFFFFFF01},
		{"NO-ADVERTISE", 0xFFFFFF02},
		{"no-export-subconfed", 0xFFFFFF03},
		{"local-AS", 0xFFFFFF03},
		{"no-peer", 0xFFFFFF04},
		{"graceful-shutdown", 0xFFFF0000},
		{"blackhole", 0xFFFF029A},
		{"accept-own", 0xFFFF0001},
	} {
		got, err := ParseCommunity(tt.s)
		if err != nil || got != tt.want {
			t.Errorf("ParseCommunity(%q) = %#x, %v; want %#x", tt.s, got, err, tt.want)
		}
	}
	for _, s := range []string{"", "65536:1", "1:65536", "1", "1:2:3", "no-such", "-1:2"} {
		if _, err := ParseCommunity(s); err == nil {
			t.Errorf("ParseCommunity(%q) succeeded", s)
		}
	}
	if got := CommunityString(NoExportSubconfed); got != "local-AS" {
		t.Errorf("CommunityString(NoExportSubconfed) = %q", got)
	}
	if got := CommunityString(65001<<16 | 7); got != "65001:7" {
		t.Errorf("CommunityString = %q", got)
	}
	if got, err := ParseLargeCommunity("4200000000:1000:3"); err != nil || got != lc(4200000000, 1000, 3) {
		t.Errorf("ParseLargeCommunity = %v, %v", got, err)
	}
	for _, s := range []string{"1:2", "1:2:3:4", "4294967296:1:1", "a:b:c"} {
		if _, err := ParseLargeCommunity(s); err == nil {
			t.Errorf("ParseLargeCommunity(%q) succeeded", s)
		}
	}
}

func TestEntryOrderAndImplicitDeny(t *testing.T) {
	ps := mustCompile(t, Config{
		PrefixLists: []PrefixList{{Name: "CUST", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/8"), Min: 8, Max: 24}}}},
		Policies: []Policy{{Name: "P", Entries: []Entry{
			{Action: Deny, Match: Match{NeighborAS: 666}},
			{Match: Match{PrefixList: "CUST", Origin: org(rib.OriginIGP)}, Set: Set{LocalPref: u32(200)}},
			{Match: Match{PrefixList: "CUST"}, Set: Set{LocalPref: u32(50)}},
		}}},
	})
	m := lookup(t, ps, "P")
	tests := []struct {
		name   string
		r      Route
		permit bool
		entry  int
		lp     uint32
	}{
		{"neighbour denied", Route{Prefix: pfx("10.1.0.0/16"), PeerAS: 666, Attrs: &rib.Attrs{}}, false, 0, 0},
		{"first permit", Route{Prefix: pfx("10.1.0.0/16"), PeerAS: 1, Attrs: &rib.Attrs{}}, true, 1, 200},
		{"origin differs", Route{Prefix: pfx("10.1.0.0/16"), PeerAS: 1, Attrs: &rib.Attrs{Origin: rib.OriginIncomplete}}, true, 2, 50},
		{"implicit deny", Route{Prefix: pfx("11.0.0.0/8"), PeerAS: 1, Attrs: &rib.Attrs{}}, false, NoEntry, 0},
	}
	for _, tt := range tests {
		got, ok, entry := m.Apply(tt.r)
		if ok != tt.permit || entry != tt.entry {
			t.Errorf("%s: permitted %v by entry %d, want %v by %d", tt.name, ok, entry, tt.permit, tt.entry)
			continue
		}
		if ok && (!got.HasLocalPref || got.LocalPref != tt.lp) {
			t.Errorf("%s: local-pref %v %d, want %d", tt.name, got.HasLocalPref, got.LocalPref, tt.lp)
		}
		if !ok && got != nil {
			t.Errorf("%s: denied with attributes", tt.name)
		}
	}
	// An empty policy denies everything; no policy permits everything.
	empty := lookup(t, mustCompile(t, Config{Policies: []Policy{{Name: "P"}}}), "P")
	if _, ok, e := empty.Apply(Route{Attrs: &rib.Attrs{}}); ok || e != NoEntry {
		t.Errorf("empty policy: %v, %d", ok, e)
	}
	var none *RouteMap
	a := &rib.Attrs{}
	if got, ok, e := none.Apply(Route{Attrs: a}); !ok || got != a || e != NoEntry {
		t.Errorf("nil policy: %p, %v, %d", got, ok, e)
	}
}

func TestSetFields(t *testing.T) {
	base := &rib.Attrs{Origin: rib.OriginIGP, HasMED: true, MED: 5, ASPath: []rib.Segment{seq(2, 3)}}
	ps := mustCompile(t, Config{Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{
		LocalPref: u32(300), MED: u32(0), Weight: u32(1000), Origin: org(rib.OriginIncomplete),
	}}}}}})
	got, ok, _ := lookup(t, ps, "P").Apply(Route{Attrs: base})
	if !ok {
		t.Fatal("denied")
	}
	want := rib.Attrs{Origin: rib.OriginIncomplete, HasMED: true, MED: 0, HasLocalPref: true, LocalPref: 300,
		HasWeight: true, Weight: 1000, ASPath: base.ASPath}
	if !equalAttrs(got, &want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if base.LocalPref != 0 || base.MED != 5 || base.Origin != rib.OriginIGP || base.HasWeight {
		t.Errorf("the input changed: %+v", base)
	}
}

func equalAttrs(a, b *rib.Attrs) bool {
	if a.Origin != b.Origin || a.HasMED != b.HasMED || a.MED != b.MED || a.HasLocalPref != b.HasLocalPref ||
		a.LocalPref != b.LocalPref || a.HasWeight != b.HasWeight || a.Weight != b.Weight ||
		ribwire.ASPathString(a.ASPath) != ribwire.ASPathString(b.ASPath) {
		return false
	}
	x, y := a.Extra(), b.Extra()
	return slices.Equal(x.Communities, y.Communities) && slices.Equal(x.LargeCommunities, y.LargeCommunities) &&
		x.OriginatorID == y.OriginatorID && slices.Equal(x.ClusterList, y.ClusterList) && x.Other == y.Other
}

func TestPrepend(t *testing.T) {
	long := make([]uint32, 254)
	for i := range long {
		long[i] = 9
	}
	tests := []struct {
		name string
		pp   Prepend
		path []rib.Segment
		want string
	}{
		{"count", Prepend{Count: 3}, []rib.Segment{seq(2, 3)}, "65001 65001 65001 2 3"},
		{"count on empty path", Prepend{Count: 1}, nil, "65001"},
		{"list", Prepend{ASNs: []uint32{7, 8}}, []rib.Segment{seq(2, 3)}, "7 8 2 3"},
		{"list before a set", Prepend{ASNs: []uint32{7, 8}}, []rib.Segment{set(3, 4)}, "7 8 {3,4}"},
		{"count before a set", Prepend{Count: 2}, []rib.Segment{set(3, 4)}, "65001 65001 {3,4}"},
		{"list on empty path", Prepend{ASNs: []uint32{4200000000}}, nil, "4200000000"},
		{"full segment", Prepend{ASNs: []uint32{7, 8}}, []rib.Segment{seq(long...)}, "7 8 " + strings.TrimSpace(strings.Repeat("9 ", 254))},
	}
	for _, tt := range tests {
		ps := mustCompile(t, Config{Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{Prepend: tt.pp}}}}}})
		in := &rib.Attrs{ASPath: tt.path}
		got, _, _ := lookup(t, ps, "P").Apply(Route{Attrs: in, LocalAS: 65001})
		if s := ribwire.ASPathString(got.ASPath); s != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, s, tt.want)
		}
		if ribwire.ASPathString(in.ASPath) != ribwire.ASPathString(tt.path) {
			t.Errorf("%s: the input changed", tt.name)
		}
	}
	// A full leading segment: the ASNs go in a new one (255 at most).
	in := &rib.Attrs{ASPath: []rib.Segment{seq(long...)}}
	ps := mustCompile(t, Config{Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{Prepend: Prepend{ASNs: []uint32{1, 2}}}}}}}})
	got, _, _ := lookup(t, ps, "P").Apply(Route{Attrs: in})
	if len(got.ASPath) != 2 || len(got.ASPath[0].ASNs) != 2 || len(got.ASPath[1].ASNs) != 254 {
		t.Errorf("segments %d, want 2 (2 and 254 ASNs)", len(got.ASPath))
	}
}

func TestSetCommunity(t *testing.T) {
	const a, b, c, d = 1<<16 | 1, 1<<16 | 2, 2<<16 | 1, 3<<16 | 3
	lists := []CommunityList{
		{Name: "DEL", Entries: []CommunityEntry{
			{Community: c, Action: Deny}, // protects c from the permit below
			{Community: a},
			{Community: c},
			{IsLarge: true, Large: lc(1, 1, 1)},
		}},
		{Name: "LDEL", Entries: []CommunityEntry{{IsLarge: true, Large: lc(1, 1, 1)}, {IsLarge: true, Large: lc(2, 2, 2), Action: Deny}}},
	}
	tests := []struct {
		name      string
		set       CommunitySet
		in, want  []uint32
		unchanged bool
	}{
		{"add", CommunitySet{Add: []uint32{d, a}}, []uint32{b}, []uint32{a, b, d}, false},
		{"add sorts and dedups", CommunitySet{Add: []uint32{a}}, []uint32{d, b, b}, []uint32{a, b, d}, false},
		{"add present", CommunitySet{Add: []uint32{a}}, []uint32{a, b}, []uint32{a, b}, true},
		{"add to none", CommunitySet{Add: []uint32{NoExport, a}}, nil, []uint32{a, NoExport}, false},
		{"set", CommunitySet{Set: []uint32{d, c}}, []uint32{a, b}, []uint32{c, d}, false},
		{"set same", CommunitySet{Set: []uint32{b, a}}, []uint32{a, b}, []uint32{a, b}, true},
		{"set none", CommunitySet{Set: []uint32{}}, []uint32{a, b}, nil, false},
		{"set none of none", CommunitySet{Set: []uint32{}}, nil, nil, true},
		{"delete values", CommunitySet{Delete: []uint32{a, d}}, []uint32{d, b, a}, []uint32{b}, false},
		{"delete absent", CommunitySet{Delete: []uint32{d}}, []uint32{a, b}, []uint32{a, b}, true},
		{"delete all", CommunitySet{Delete: []uint32{a, b}}, []uint32{a, b}, nil, false},
		{"delete list", CommunitySet{DeleteList: "DEL"}, []uint32{a, b, c}, []uint32{b, c}, false},
		{"delete then add", CommunitySet{Delete: []uint32{a, b}, Add: []uint32{b}}, []uint32{a, b}, []uint32{b}, false},
		{"set then delete then add", CommunitySet{Set: []uint32{a, c}, Delete: []uint32{c}, Add: []uint32{d}}, []uint32{b}, []uint32{a, d}, false},
	}
	for _, tt := range tests {
		ps := mustCompile(t, Config{CommunityLists: lists, Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{Community: tt.set}}}}}})
		in := attrs(nil, slices.Clone(tt.in), []rib.LargeCommunity{lc(9, 9, 9)})
		got, ok, _ := lookup(t, ps, "P").Apply(Route{Attrs: in})
		if !ok {
			t.Fatalf("%s: denied", tt.name)
		}
		if gotComms := got.Extra().Communities; !slices.Equal(gotComms, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, gotComms, tt.want)
		}
		if (got == in) != tt.unchanged {
			t.Errorf("%s: same set %v, want %v", tt.name, got == in, tt.unchanged)
		}
		if !slices.Equal(got.Extra().LargeCommunities, []rib.LargeCommunity{lc(9, 9, 9)}) {
			t.Errorf("%s: large communities %v", tt.name, got.Extra().LargeCommunities)
		}
		if !slices.Equal(in.Extra().Communities, tt.in) {
			t.Errorf("%s: the input changed to %v", tt.name, in.Extra().Communities)
		}
	}
	largeTests := []struct {
		name     string
		set      LargeCommunitySet
		in, want []rib.LargeCommunity
	}{
		{"add sorted", LargeCommunitySet{Add: []rib.LargeCommunity{lc(1, 2, 3), lc(1, 1, 9)}}, []rib.LargeCommunity{lc(2, 0, 0), lc(1, 2, 3)},
			[]rib.LargeCommunity{lc(1, 1, 9), lc(1, 2, 3), lc(2, 0, 0)}},
		{"set", LargeCommunitySet{Set: []rib.LargeCommunity{lc(5, 5, 5)}}, []rib.LargeCommunity{lc(1, 1, 1)}, []rib.LargeCommunity{lc(5, 5, 5)}},
		{"delete list", LargeCommunitySet{DeleteList: "LDEL"}, []rib.LargeCommunity{lc(2, 2, 2), lc(1, 1, 1), lc(3, 3, 3)},
			[]rib.LargeCommunity{lc(2, 2, 2), lc(3, 3, 3)}},
		{"delete values", LargeCommunitySet{Delete: []rib.LargeCommunity{lc(3, 3, 3)}}, []rib.LargeCommunity{lc(3, 3, 3)}, nil},
	}
	for _, tt := range largeTests {
		ps := mustCompile(t, Config{CommunityLists: lists, Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{LargeCommunity: tt.set}}}}}})
		in := attrs(nil, []uint32{a}, slices.Clone(tt.in))
		got, _, _ := lookup(t, ps, "P").Apply(Route{Attrs: in})
		if !slices.Equal(got.Extra().LargeCommunities, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got.Extra().LargeCommunities, tt.want)
		}
		if !slices.Equal(got.Extra().Communities, []uint32{a}) {
			t.Errorf("%s: communities %v", tt.name, got.Extra().Communities)
		}
	}
	// Removing the last community of a set with nothing else in its Ext
	// leaves no Ext; other Ext attributes stay.
	ps := mustCompile(t, Config{Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{Community: CommunitySet{Delete: []uint32{a}}}}}}}})
	got, _, _ := lookup(t, ps, "P").Apply(Route{Attrs: attrs(nil, []uint32{a}, nil)})
	if got.Ext != nil {
		t.Errorf("Ext %+v, want none", got.Ext)
	}
	in := attrs(nil, []uint32{a}, nil)
	in.Ext.OriginatorID, in.Ext.Other = netip.MustParseAddr("192.0.2.1"), "\xc0\x07\x08xxxxxxxx"
	got, _, _ = lookup(t, ps, "P").Apply(Route{Attrs: in})
	if x := got.Extra(); len(x.Communities) != 0 || x.OriginatorID != in.Ext.OriginatorID || x.Other != in.Ext.Other {
		t.Errorf("Ext %+v", x)
	}
}

// TestInterned applies a policy to interned sets and interns the results,
// as the decision engine does.
func TestInterned(t *testing.T) {
	in := rib.NewInterner()
	a := in.Intern(attrs([]rib.Segment{seq(1)}, []uint32{5}, nil))
	ps := mustCompile(t, Config{Policies: []Policy{{Name: "P", Entries: []Entry{{Set: Set{
		Community: CommunitySet{Add: []uint32{1}}, LocalPref: u32(7), Prepend: Prepend{Count: 1},
	}}}}}})
	got, _, _ := lookup(t, ps, "P").Apply(Route{Attrs: a, LocalAS: 9})
	b := in.InternOwned(got)
	again, _, _ := lookup(t, ps, "P").Apply(Route{Attrs: a, LocalAS: 9})
	if c := in.Intern(again); c != b {
		t.Errorf("the same route gave two sets")
	}
	if ribwire.ASPathString(a.ASPath) != "1" || !slices.Equal(a.Extra().Communities, []uint32{5}) || a.HasLocalPref {
		t.Errorf("the interned input changed: %+v", a)
	}
}

func TestNoChangeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool allocates")
	}
	cfg := Config{
		PrefixLists:    []PrefixList{{Name: "L", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/8"), Min: 8, Max: 24}}}},
		ASPathLists:    []ASPathList{{Name: "A", Entries: []ASPathEntry{{Regex: "_666_", Action: Deny}, {Regex: "^65001_"}}}},
		CommunityLists: []CommunityList{{Name: "C", Entries: []CommunityEntry{{Community: 1<<16 | 1}}}},
		Policies: []Policy{
			{Name: "PLAIN", Entries: []Entry{{Match: Match{PrefixList: "L", ASPathList: "A", CommunityList: "C"}}}},
			{Name: "SAME", Entries: []Entry{{Set: Set{
				LocalPref: u32(200), MED: u32(3), Origin: org(rib.OriginIGP),
				Community:      CommunitySet{Add: []uint32{1<<16 | 1}, Delete: []uint32{9}},
				LargeCommunity: LargeCommunitySet{Delete: []rib.LargeCommunity{lc(1, 1, 1)}},
			}}}},
			{Name: "DENY", Entries: []Entry{{Action: Deny, Match: Match{ASPathList: "A"}}}},
		},
	}
	ps := mustCompile(t, cfg)
	a := attrs([]rib.Segment{seq(65001, 2, 3)}, []uint32{1<<16 | 1, 2<<16 | 2}, nil)
	a.HasLocalPref, a.LocalPref, a.HasMED, a.MED = true, 200, true, 3
	r := Route{Prefix: pfx("10.1.0.0/16"), Attrs: a, PeerAS: 65001, LocalAS: 65000}
	for _, name := range []string{"PLAIN", "SAME", "DENY"} {
		m := lookup(t, ps, name)
		want := name != "DENY"
		if got, ok, _ := m.Apply(r); ok != want || ok && got != a {
			t.Fatalf("%s: %p, %v", name, got, ok)
		}
		if n := testing.AllocsPerRun(1000, func() { m.Apply(r) }); n != 0 {
			t.Errorf("%s: %v allocations per Apply, want 0", name, n)
		}
	}
}

func TestCounters(t *testing.T) {
	ps := mustCompile(t, Config{
		PrefixLists: []PrefixList{{Name: "L", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/8"), Max: 32, Min: 8}}}},
		Policies: []Policy{
			{Name: "P", Entries: []Entry{
				{Action: Deny, Match: Match{NeighborAS: 666}},
				{Match: Match{PrefixList: "L"}},
			}},
			{Name: "Q", Entries: []Entry{{}}},
		},
	})
	m := lookup(t, ps, "P")
	const workers, each = 4, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range each {
				r := Route{Prefix: pfx("10.0.0.0/8"), Attrs: &rib.Attrs{}}
				switch {
				case i%4 == 0:
					r.PeerAS = 666
				case i%4 == 1:
					r.Prefix = pfx("11.0.0.0/8")
				}
				m.Apply(r)
			}
		})
	}
	wg.Wait()
	got := ps.Show("P")
	if len(got) != 1 || got[0].Name != "P" || len(got[0].Entries) != 2 {
		t.Fatalf("Show(P) = %+v", got)
	}
	if h0, h1, nm := got[0].Entries[0].Hits, got[0].Entries[1].Hits, got[0].NoMatch; h0 != workers*each/4 || h1 != workers*each/2 || nm != workers*each/4 {
		t.Errorf("hits %d, %d, no match %d; want %d, %d, %d", h0, h1, nm, workers*each/4, workers*each/2, workers*each/4)
	}
	if e := got[0].Entries[0]; e.Action != Deny || e.Match.NeighborAS != 666 {
		t.Errorf("entry 1 = %+v", e)
	}
	if all := ps.Show(""); len(all) != 2 || all[1].Name != "Q" || all[1].Entries[0].Hits != 0 {
		t.Errorf("Show(\"\") = %+v", all)
	}
	if none := ps.Show("R"); none != nil {
		t.Errorf("Show(R) = %+v", none)
	}
	if names := ps.Names(); !slices.Equal(names, []string{"P", "Q"}) {
		t.Errorf("Names = %v", names)
	}
}

func TestCompileErrors(t *testing.T) {
	okPL := []PrefixList{{Name: "PL", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/8")}}}}
	okCL := []CommunityList{{Name: "CL", Entries: []CommunityEntry{{Community: 1}}}}
	pol := func(e Entry) []Policy { return []Policy{{Name: "P", Entries: []Entry{{}, e}}} }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"min > max", Config{PrefixLists: []PrefixList{{Name: "X", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/8")}, {Prefix: pfx("10.0.0.0/8"), Min: 24, Max: 16}}}}},
			`prefix list "X" entry 2: min 24 is greater than max 16`},
		{"min < len", Config{PrefixLists: []PrefixList{{Name: "X", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/16"), Min: 8, Max: 24}}}}},
			`prefix list "X" entry 1: min 8 is shorter than 10.0.0.0/16`},
		{"max > 32", Config{PrefixLists: []PrefixList{{Name: "X", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.0/16"), Min: 16, Max: 33}}}}},
			`prefix list "X" entry 1: max 33 is longer than an address (32 bits)`},
		{"max > 128", Config{PrefixLists: []PrefixList{{Name: "X", Entries: []PrefixEntry{{Prefix: pfx("2001:db8::/32"), Min: 48, Max: 129}}}}},
			`max 129 is longer than an address (128 bits)`},
		{"host bits", Config{PrefixLists: []PrefixList{{Name: "X", Entries: []PrefixEntry{{Prefix: pfx("10.0.0.1/8")}}}}},
			`prefix list "X" entry 1: 10.0.0.1/8 has bits set beyond its length (10.0.0.0/8?)`},
		{"no prefix", Config{PrefixLists: []PrefixList{{Name: "X", Entries: []PrefixEntry{{}}}}}, `prefix list "X" entry 1: no prefix`},
		{"empty prefix list", Config{PrefixLists: []PrefixList{{Name: "X"}}}, `prefix list "X" has no entries`},
		{"duplicate", Config{PrefixLists: append(okPL, okPL...)}, `prefix list "PL" is defined twice`},
		{"no name", Config{Policies: []Policy{{}}}, `a policy has no name`},
		{"bad regex", Config{ASPathLists: []ASPathList{{Name: "A", Entries: []ASPathEntry{{Regex: "^1"}, {Regex: "_(65001_"}}}}},
			`as-path list "A" entry 2: bad regular expression "_(65001_": missing closing )`},
		{"empty regex", Config{ASPathLists: []ASPathList{{Name: "A", Entries: []ASPathEntry{{}}}}}, `as-path list "A" entry 1: empty regular expression`},
		{"both communities", Config{CommunityLists: []CommunityList{{Name: "C", Entries: []CommunityEntry{{Community: 1, IsLarge: true}}}}},
			`community list "C" entry 1: both a community and a large community`},
		{"unknown prefix list", Config{Policies: pol(Entry{Match: Match{PrefixList: "NOPE"}})}, `policy "P" entry 2: match: no prefix list "NOPE"`},
		{"unknown as-path list", Config{Policies: pol(Entry{Match: Match{ASPathList: "NOPE"}})}, `policy "P" entry 2: match: no as-path list "NOPE"`},
		{"unknown community list", Config{Policies: pol(Entry{Match: Match{CommunityList: "NOPE"}})}, `policy "P" entry 2: match: no community list "NOPE"`},
		{"unknown delete list", Config{Policies: pol(Entry{Set: Set{Community: CommunitySet{DeleteList: "NOPE"}}})},
			`policy "P" entry 2: set community delete: no community list "NOPE"`},
		{"delete list of large only", Config{CommunityLists: []CommunityList{{Name: "L", Entries: []CommunityEntry{{IsLarge: true, Large: lc(1, 2, 3)}}}},
			Policies: pol(Entry{Set: Set{Community: CommunitySet{DeleteList: "L"}}})},
			`policy "P" entry 2: set community delete: community list "L" has no standard community`},
		{"large delete list of standard only", Config{CommunityLists: okCL, Policies: pol(Entry{Set: Set{LargeCommunity: LargeCommunitySet{DeleteList: "CL"}}})},
			`set large-community delete: community list "CL" has no large community`},
		{"prepend both", Config{Policies: pol(Entry{Set: Set{Prepend: Prepend{Count: 1, ASNs: []uint32{1}}}})}, `policy "P" entry 2: set prepend: both`},
		{"prepend count", Config{Policies: pol(Entry{Set: Set{Prepend: Prepend{Count: 256}}})}, `set prepend: count 256 out of range 1..255`},
		{"prepend AS 0", Config{Policies: pol(Entry{Set: Set{Prepend: Prepend{ASNs: []uint32{1, 0}}}})}, `AS 0 is reserved`},
		{"deny with set", Config{Policies: pol(Entry{Action: Deny, Set: Set{MED: u32(1)}})}, `policy "P" entry 2: a deny entry cannot set anything`},
		{"bad origin", Config{Policies: pol(Entry{Match: Match{Origin: org(3)}})}, `policy "P" entry 2: match: bad origin 3`},
		{"bad action", Config{Policies: pol(Entry{Action: 2})}, `policy "P" entry 2: bad action 2`},
		{"duplicate policy", Config{Policies: []Policy{{Name: "P"}, {Name: "P"}}}, `policy "P" is defined twice`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Compile = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}
