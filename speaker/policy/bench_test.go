package policy

import (
	"testing"

	"lab/speaker/rib"
)

// benchPolicies is a typical import policy: drop what carries a blocking
// community, prefer the customer's prefixes (and tag them), accept the
// rest.
func benchPolicies(b *testing.B) *RouteMap {
	ps := mustCompile(b, Config{
		PrefixLists: []PrefixList{{Name: "CUSTOMERS", Entries: []PrefixEntry{
			{Prefix: pfx("192.0.2.0/24")},
			{Prefix: pfx("2001:db8::/32"), Min: 32, Max: 48},
			{Prefix: pfx("10.0.0.0/8"), Min: 16, Max: 24},
		}}},
		CommunityLists: []CommunityList{{Name: "BLOCK", Entries: []CommunityEntry{
			{Community: 65000<<16 | 666},
			{Community: Blackhole},
		}}},
		Policies: []Policy{
			{Name: "IMPORT", Entries: []Entry{
				{Action: Deny, Match: Match{CommunityList: "BLOCK"}},
				{Match: Match{PrefixList: "CUSTOMERS"}, Set: Set{LocalPref: u32(200), Community: CommunitySet{Add: []uint32{65000<<16 | 100}}}},
				{},
			}},
		},
	})
	m, _ := ps.Lookup("IMPORT")
	return m
}

func benchRoute(prefix string) Route {
	return Route{
		Prefix:  pfx(prefix),
		Attrs:   attrs([]rib.Segment{seq(65001, 65002, 65003)}, []uint32{65001<<16 | 1, 65001<<16 | 2, 65001<<16 | 3}, nil),
		PeerAS:  65001,
		LocalAS: 65000,
	}
}

// BenchmarkApply: a customer's route, through the 3-entry policy: the
// community list misses, the prefix list matches its third entry, the
// route gets a LOCAL_PREF and a community (a new set).
func BenchmarkApply(b *testing.B) {
	m := benchPolicies(b)
	r := benchRoute("10.20.30.0/24")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, e := m.Apply(r); !ok || e != 1 {
			b.Fatal(ok, e)
		}
	}
}

// BenchmarkApplyUnchanged: another route, permitted unchanged by the last
// entry.
func BenchmarkApplyUnchanged(b *testing.B) {
	m := benchPolicies(b)
	r := benchRoute("203.0.113.0/24")
	b.ReportAllocs()
	for b.Loop() {
		if a, ok, e := m.Apply(r); !ok || e != 2 || a != r.Attrs {
			b.Fatal(ok, e)
		}
	}
}

// BenchmarkApplyASPath: an as-path list clause (the path rendered and a
// regular expression run, or not when it cannot match: requiredLiteral).
func BenchmarkApplyASPath(b *testing.B) {
	for _, bb := range []struct {
		name, re string
		entry    int
	}{
		{"miss", "_65009_", 1},
		{"hit", "_65002_", 0},
		{"hit-anchored", "^65001_", 0},
		{"no-literal", "^[0-9]+_[0-9]+_[0-9]+$", 0},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ps := mustCompile(b, Config{
				ASPathLists: []ASPathList{{Name: "A", Entries: []ASPathEntry{{Regex: bb.re}}}},
				Policies:    []Policy{{Name: "P", Entries: []Entry{{Action: Deny, Match: Match{ASPathList: "A"}}, {}}}},
			})
			m, _ := ps.Lookup("P")
			r := benchRoute("203.0.113.0/24")
			b.ReportAllocs()
			for b.Loop() {
				if _, _, e := m.Apply(r); e != bb.entry {
					b.Fatal(e)
				}
			}
		})
	}
}
