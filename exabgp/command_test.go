package exabgp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lab/speaker"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want *Command
	}{
		// The seed's announce.py.
		{"announce route 100.10.0.0/24 next-hop self",
			&Command{Kind: AnnounceRoute, Routes: []speaker.Origination{{Prefix: pfx("100.10.0.0/24")}}}},
		{"withdraw route 100.10.0.0/24",
			&Command{Kind: WithdrawRoute, Routes: []speaker.Origination{{Prefix: pfx("100.10.0.0/24")}}}},
		// Every attribute of the grammar, in ExaBGP's spacing and not.
		{"announce route 100.20.0.0/24 next-hop 10.9.0.1 origin egp as-path [ 65001 65010 ] med 50 local-preference 200 " +
			"community [ 65001:100 no-export 0x10 7 ] large-community [ 65001:1:2 65001:1:2 ] extended-community [ target:65001:5 origin:1.2.3.4:7 target:4200000000:1 ] " +
			"atomic-aggregate aggregator ( 65001:10.9.0.1 )",
			&Command{Kind: AnnounceRoute, Routes: []speaker.Origination{{
				Prefix: pfx("100.20.0.0/24"), NextHop: addr("10.9.0.1"), Origin: rib.OriginEGP, ASPath: []uint32{65001, 65010},
				MED: 50, HasMED: true, LocalPref: 200, HasLocalPref: true,
				Communities:      []uint32{65001<<16 | 100, uint32(wire.CommunityNoExport), 16, 7},
				LargeCommunities: [][3]uint32{{65001, 1, 2}},
				ExtCommunities: []wire.ExtendedCommunity{{0, 2, 0xfd, 0xe9, 0, 0, 0, 5}, {1, 3, 1, 2, 3, 4, 0, 7},
					{2, 2, 0xfa, 0x56, 0xea, 0, 0, 1}},
				AtomicAggregate: true, AggregatorAS: 65001, AggregatorAddr: addr("10.9.0.1"),
			}}}},
		{"announce route 2001:db8:200::/48 next-hop fd00:9::1 as-path [65001,(65020 65021)] origin incomplete community 65001:1",
			&Command{Kind: AnnounceRoute, Routes: []speaker.Origination{{
				Prefix: pfx("2001:db8:200::/48"), NextHop: addr("fd00:9::1"), ASPath: []uint32{65001}, ASSet: []uint32{65020, 65021},
				Origin: rib.OriginIncomplete, Communities: []uint32{65001<<16 | 1},
			}}}},
		{"announce route 10.1.1.1 next-hop self as-path 65001 aggregator 65001:1.2.3.4",
			&Command{Kind: AnnounceRoute, Routes: []speaker.Origination{{Prefix: pfx("10.1.1.1/32"), ASPath: []uint32{65001},
				AggregatorAS: 65001, AggregatorAddr: addr("1.2.3.4")}}}},
		{"announce attributes next-hop self med 7 as-path [ 65001 ] nlri 100.30.0.0/24 100.31.0.0/24",
			&Command{Kind: AnnounceRoute, Routes: []speaker.Origination{
				{Prefix: pfx("100.30.0.0/24"), MED: 7, HasMED: true, ASPath: []uint32{65001}},
				{Prefix: pfx("100.31.0.0/24"), MED: 7, HasMED: true, ASPath: []uint32{65001}},
			}}},
		{"withdraw attributes nlri 100.30.0.0/24 100.31.0.0/24",
			&Command{Kind: WithdrawRoute, Routes: []speaker.Origination{{Prefix: pfx("100.30.0.0/24")}, {Prefix: pfx("100.31.0.0/24")}}}},
		// Neighbour selection, one or several.
		{"neighbor 10.0.0.2 announce route 10.1.0.0/16 next-hop self",
			&Command{Kind: AnnounceRoute, Neighbors: []Selector{{Neighbor: addr("10.0.0.2")}},
				Routes: []speaker.Origination{{Prefix: pfx("10.1.0.0/16")}}}},
		{"neighbor 10.0.0.2 local-as 65001 peer-as 65002, neighbor fd00::2 local-ip fd00::1 router-id 1.1.1.1 withdraw route 10.1.0.0/16",
			&Command{Kind: WithdrawRoute, Neighbors: []Selector{
				{Neighbor: addr("10.0.0.2"), LocalAS: 65001, PeerAS: 65002},
				{Neighbor: addr("fd00::2"), LocalIP: addr("fd00::1"), RouterID: addr("1.1.1.1")},
			}, Routes: []speaker.Origination{{Prefix: pfx("10.1.0.0/16")}}}},
		{"announce eor", &Command{Kind: AnnounceEOR, Family: wire.IPv4Unicast}},
		{"neighbor 10.0.0.2 announce eor ipv6 unicast", &Command{Kind: AnnounceEOR, Family: wire.IPv6Unicast,
			Neighbors: []Selector{{Neighbor: addr("10.0.0.2")}}}},
		{"neighbor 10.0.0.2 announce route-refresh ipv4 unicast", &Command{Kind: AnnounceRefresh, Family: wire.IPv4Unicast,
			Neighbors: []Selector{{Neighbor: addr("10.0.0.2")}}}},
		{"show neighbor summary", &Command{Kind: ShowNeighbor, Summary: true}},
		{"show neighbor 10.0.0.2 extensive", &Command{Kind: ShowNeighbor, Extensive: true, Filter: addr("10.0.0.2")}},
		{"show neighbor", &Command{Kind: ShowNeighbor}},
		{"show adj-rib out", &Command{Kind: ShowAdjRIB}},
		{"show adj-rib in extensive", &Command{Kind: ShowAdjRIB, In: true, Extensive: true}},
		{"show adj-rib-in 10.0.0.2", &Command{Kind: ShowAdjRIB, In: true, Filter: addr("10.0.0.2")}},
		{"neighbor 10.0.0.2 teardown 2", &Command{Kind: Teardown, Subcode: 2, Neighbors: []Selector{{Neighbor: addr("10.0.0.2")}}}},
		{"teardown", &Command{Kind: Teardown, Subcode: 2}},
		{"teardown 4", &Command{Kind: Teardown, Subcode: 4}},
		{"shutdown", &Command{Kind: Shutdown}},
		{"# a comment", &Command{Kind: Comment}},
		{"\tannounce   route 10.2.0.0/16\tnext-hop self ", &Command{Kind: AnnounceRoute, Routes: []speaker.Origination{{Prefix: pfx("10.2.0.0/16")}}}},
	} {
		got, err := ParseCommand(tc.line)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
			t.Errorf("%q: (-want +got)\n%s", tc.line, diff)
		}
	}
}

// Every error names what is wrong, and for an unknown word what would
// have been accepted.
func TestParseCommandErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"", "empty command"},
		{"annonce route 10.0.0.0/8 next-hop self", `unknown word "annonce" (accepted: announce, withdraw, show, teardown, shutdown`},
		{"announce flow route { match { destination 10.0.0.0/8; } then { discard; } }", `"flow" is ExaBGP's but not supported here (accepted: route, attributes, eor, route-refresh)`},
		{"announce 10.0.0.0/8 next-hop self", `unknown word "10.0.0.0/8" (accepted: route, attributes, eor, route-refresh)`},
		{"announce route 10.0.0.0/8", "route 10.0.0.0/8: next-hop is missing"},
		{"announce route 10.0.0.1/8 next-hop self", "invalid network for its length (10.0.0.0/8)"},
		{"announce route 10.0.0.0/8 next-hop self colour blue", `route 10.0.0.0/8: unknown word "colour" (accepted: next-hop, origin, as-path, med, local-preference, community, large-community, extended-community, atomic-aggregate, aggregator)`},
		{"announce route 10.0.0.0/8 next-hop self label 100", `"label" is ExaBGP's but not supported here`},
		{"announce route 10.0.0.0/8 next-hop fd00::1", "next-hop fd00::1: not of the prefix's family"},
		{"announce route 10.0.0.0/8 next-hop self origin bgp", `origin "bgp": accepted: igp, egp, incomplete`},
		{"announce route 10.0.0.0/8 next-hop self med -1", "med:"},
		{"announce route 10.0.0.0/8 next-hop self med 1 med 2", "med given twice"},
		{"announce route 10.0.0.0/8 next-hop self as-path [ 65001 ( 1 2 ) 3 ]", "the AS set must come last"},
		{"announce route 10.0.0.0/8 next-hop self as-path [ 65001", "] is missing"},
		{"announce route 10.0.0.0/8 next-hop self community [ 65536:1 ]", `community "65536:1"`},
		{"announce route 10.0.0.0/8 next-hop self large-community 1:2", `large-community "1:2"`},
		{"announce route 10.0.0.0/8 next-hop self extended-community bogus:1:2", `extended-community "bogus:1:2"`},
		{"announce route 10.0.0.0/8 next-hop self aggregator ( 65001 )", `aggregator "65001"`},
		{"announce attributes next-hop self 10.0.0.0/8", `unknown word "10.0.0.0/8"`},
		{"announce attributes next-hop self nlri", "no prefix after nlri"},
		{"announce attributes next-hop self nlri 10.0.0.0/8 fd00::/8", "all the prefixes must be of one family"},
		{"announce eor ipv4 multicast", `address family "ipv4 multicast": accepted: ipv4 unicast, ipv6 unicast`},
		{"announce route-refresh", "address family"},
		{"neighbor 10.0.0.2 family-allowed ipv4-unicast announce eor", `"family-allowed" is ExaBGP's but not supported here (accepted: local-ip, local-as, peer-as, router-id)`},
		{"neighbor bogus announce eor", "neighbor:"},
		{"neighbor 10.0.0.2 peer-as x announce eor", `neighbor 10.0.0.2 peer-as: AS number "x"`},
		{"neighbor 10.0.0.2", "a command must follow the neighbor selection"},
		{"neighbor 10.0.0.2 , announce eor", "a comma in the neighbor selection must be followed by another neighbor"},
		{"show routes", `unknown word "routes" (accepted: neighbor, adj-rib)`},
		{"show adj-rib sideways", `show adj-rib "sideways": accepted: in, out`},
		{"show neighbor summary extensive", "summary or extensive, not both"},
		{"teardown now", `teardown "now": the Cease subcode is a number`},
		{"shutdown now", `shutdown: unexpected "now" at the end`},
		{"version", `"version" is ExaBGP's but not supported here`},
	} {
		_, err := ParseCommand(tc.line)
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.line, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q, want it to contain %q", tc.line, err, tc.want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"announce route 100.20.0.0/24 next-hop 10.9.0.1 origin egp as-path [ 65001 ( 1 2 ) ] community [ 1:2 ]",
		"neighbor 10.0.0.2 local-as 1, neighbor ::1 announce attributes med 1 nlri 10.0.0.0/8",
		"show adj-rib in extensive", "teardown 2", "announce eor ipv6 unicast",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err == nil && c.Kind == 0 {
			t.Fatalf("%q: no kind", line)
		}
	})
}
