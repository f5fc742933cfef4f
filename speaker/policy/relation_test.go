package policy

import (
	"slices"
	"strings"
	"testing"

	"lab/speaker/rib"
)

func TestRelationPolicies(t *testing.T) {
	const us = 4200000001 // a 4-byte ASN
	var cfg Config
	names := map[Role][2]string{}
	for _, role := range []Role{Customer, Peer, Provider} {
		for _, leak := range []bool{false, true} {
			c, in, out, err := RelationPolicies(us, role, DefaultRelationPrefs, leak)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Add(c); err != nil {
				t.Fatalf("Add: %v", err)
			}
			if !leak {
				names[role] = [2]string{in, out}
			}
		}
	}
	wantNames := []string{"RELATION-FROM-CUSTOMER", "RELATION-TO-CUSTOMER", "RELATION-FROM-PEER", "RELATION-TO-PEER",
		"RELATION-TO-PEER-LEAK", "RELATION-FROM-PROVIDER", "RELATION-TO-PROVIDER", "RELATION-TO-PROVIDER-LEAK"}
	ps := mustCompile(t, cfg)
	if got := ps.Names(); !slices.Equal(got, wantNames) {
		t.Errorf("Names = %v, want %v", got, wantNames)
	}
	if len(cfg.CommunityLists) != 1 {
		t.Errorf("community lists %+v, want one", cfg.CommunityLists)
	}
	// A route learnt from a neighbour of role `from` (with a stale tag of
	// ours), then exported to one of role `to`.
	route := func(from Role) *rib.Attrs {
		a := attrs([]rib.Segment{seq(65010, 65020)}, []uint32{65010<<16 | 1}, []rib.LargeCommunity{RelationTag(us, Customer), lc(65010, 1, 1)})
		got, ok, _ := lookup(t, ps, names[from][0]).Apply(Route{Prefix: pfx("10.0.0.0/8"), Attrs: a, PeerAS: 65010, LocalAS: us})
		if !ok {
			t.Fatalf("import from a %s denied", from)
		}
		wantLP := map[Role]uint32{Customer: 200, Peer: 150, Provider: 100}[from]
		if !got.HasLocalPref || got.LocalPref != wantLP {
			t.Errorf("from a %s: local-pref %d, want %d", from, got.LocalPref, wantLP)
		}
		wantLarge := []rib.LargeCommunity{lc(65010, 1, 1), RelationTag(us, from)}
		if !slices.Equal(got.Extra().LargeCommunities, wantLarge) {
			t.Errorf("from a %s: large communities %v, want %v", from, got.Extra().LargeCommunities, wantLarge)
		}
		return got
	}
	tests := []struct {
		from, to Role
		leak     bool
		want     bool
	}{
		{Customer, Customer, false, true},
		{Customer, Peer, false, true},
		{Customer, Provider, false, true},
		{Peer, Customer, false, true},
		{Peer, Peer, false, false},
		{Peer, Provider, false, false},
		{Provider, Customer, false, true},
		{Provider, Peer, false, false},
		{Provider, Provider, false, false},
		{Provider, Peer, true, true},
		{Peer, Provider, true, true},
	}
	for _, tt := range tests {
		out := names[tt.to][1]
		if tt.leak {
			out += "-LEAK"
		}
		a := route(tt.from)
		got, ok, _ := lookup(t, ps, out).Apply(Route{Prefix: pfx("10.0.0.0/8"), Attrs: a, PeerAS: 65030, LocalAS: us})
		if ok != tt.want {
			t.Errorf("from a %s to a %s (leak %v, %s): exported %v, want %v", tt.from, tt.to, tt.leak, out, ok, tt.want)
		}
		if ok && got != a {
			t.Errorf("%s changed the route", out)
		}
	}
	// Our own routes carry no tag: exported to everyone.
	own := &rib.Attrs{}
	for _, out := range []string{"RELATION-TO-CUSTOMER", "RELATION-TO-PEER", "RELATION-TO-PROVIDER"} {
		if _, ok, _ := lookup(t, ps, out).Apply(Route{Attrs: own, LocalAS: us}); !ok {
			t.Errorf("%s denied our own route", out)
		}
	}
	if !IsRelationTag(RelationTag(us, Peer), us) || IsRelationTag(lc(us, 1001, 1), us) || IsRelationTag(RelationTag(us+1, Peer), us) {
		t.Error("IsRelationTag")
	}
	// Other prefs clash with the defaults' policies of the same names.
	c, _, _, err := RelationPolicies(us, Customer, RelationPrefs{Customer: 300, Peer: 150, Provider: 100}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Add(c); err == nil || !strings.Contains(err.Error(), `policy "RELATION-FROM-CUSTOMER" is defined twice, differently`) {
		t.Errorf("Add = %v", err)
	}
	if _, _, _, err := RelationPolicies(us, 0, DefaultRelationPrefs, false); err == nil {
		t.Error("role 0 accepted")
	}
}
