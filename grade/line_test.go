package grade

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lab/topo"
)

// A check rendered as a line reads back to the same check: the line a
// report shows is one a student can type.
func TestLineRoundTrip(t *testing.T) {
	m := triangle(t)
	u := func(v uint32) *uint32 { return &v }
	a := netip.MustParseAddr
	for _, c := range []struct {
		node  string
		check topo.Check
		wait  time.Duration
		line  string
	}{
		{"lab", topo.Check{Session: &topo.SessionCheck{Neighbor: topo.Target{Node: "src"}, State: "established"}}, 0,
			"check lab session src"},
		{"lab", topo.Check{Session: &topo.SessionCheck{Neighbor: topo.Target{Addr: a("fd00:3::3")}, State: "down", Family: topo.IPv6}}, 1500 * time.Millisecond,
			"check lab session fd00:3::3 down ipv6 wait 1.5"},
		{"lab", topo.Check{Prefix: &topo.PrefixCheck{Prefix: netip.MustParsePrefix("10.10.1.0/24"), Best: true,
			NextHop: &topo.Target{Node: "src"}, LocalPref: u(200), MED: u(0), ASPath: &topo.ASPathMatch{ASNs: []uint32{65010}},
			Communities: []uint32{65010<<16 | 1, 0xFFFFFF01}, LargeCommunities: [][3]uint32{{65010, 1, 1}}, Origin: "igp",
			Peer: &topo.Target{Addr: a("10.0.1.1")}}}, 10 * time.Second,
			"check lab prefix 10.10.1.0/24 best nexthop src local-pref 200 med 0 aspath 65010 community 65010:1 no-export large-community 65010:1:1 origin igp peer 10.0.1.1 wait 10"},
		{"lab", topo.Check{Prefix: &topo.PrefixCheck{Prefix: netip.MustParsePrefix("10.20.0.0/24"), Missing: true, ASPath: &topo.ASPathMatch{ASNs: []uint32{}}}}, 0,
			"check lab prefix 10.20.0.0/24 missing aspath [ ]"},
		{"lab", topo.Check{Prefix: &topo.PrefixCheck{Prefix: netip.MustParsePrefix("10.20.0.0/24"), ASPath: &topo.ASPathMatch{Regex: "^65002 [0-9]+$"}}}, time.Second,
			"check lab prefix 10.20.0.0/24 wait 1 aspath-regex ^65002 [0-9]+$"},
		{"lab", topo.Check{Route: &topo.RouteCheck{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Via: &topo.Target{Iface: "lab-eth1"}, Missing: true}}, 0,
			"check lab route 0.0.0.0/0 missing via lab-eth1"},
		{"lab", topo.Check{Route: &topo.RouteCheck{Prefix: netip.MustParsePrefix("2001:db8:10:1::/64"), Via: &topo.Target{Node: "src"}}}, 0,
			"check lab route 2001:db8:10:1::/64 via src"},
		{"lab", topo.Check{Ping: &topo.PingCheck{To: topo.Target{Node: "peer2"}, Family: topo.IPv4, Fail: true}}, 0,
			"check lab ping peer2 ipv4 fail"},
		{"lab", topo.Check{Path: &topo.PathCheck{To: "peer2", Via: []string{"src", "frr"}}}, 0,
			"check lab path peer2 via src frr"},
		{"lab", topo.Check{Notification: &topo.NotificationCheck{Neighbor: topo.Target{Node: "frr"}, Dir: "sent", Code: 6, Subcode: -1}}, 0,
			"check lab notification frr sent 6"},
		{"lab", topo.Check{Notification: &topo.NotificationCheck{Neighbor: topo.Target{Node: "frr"}, Code: -1, Subcode: -1}}, 0,
			"check lab notification frr"},
		{"lab", topo.Check{Log: &topo.LogCheck{Regex: "Hold Timer [E]xpired (4/0)"}}, 2 * time.Second,
			"check lab log wait 2 Hold Timer [E]xpired (4/0)"},
	} {
		line := Line(c.node, &c.check, c.wait)
		if line != c.line {
			t.Errorf("Line:\n got %s\nwant %s", line, c.line)
		}
		node, back, wait := parseCheck(t, m, line)
		if node != c.node || wait != c.wait {
			t.Errorf("%s: read back node %s, wait %v", line, node, wait)
		}
		if diff := cmp.Diff(&c.check, back, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: read back (-want +got):\n%s", line, diff)
		}
	}
}
