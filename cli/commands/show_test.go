package commands

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lab/speaker"
)

var (
	mp = netip.MustParsePrefix
	ma = netip.MustParseAddr
)

// The seed's `show ipv6 bgp` on as1ra, with the lines exactly as Quagga
// printed them.
const seedTable = `BGP table version is 0, local router ID is 0.0.0.2
Status codes: s suppressed, d damped, h history, * valid, > best, = multipath,
              i internal, r RIB-failure, S Stale, R Removed
Origin codes: i - IGP, e - EGP, ? - incomplete

   Network          Next Hop            Metric LocPrf Weight Path
*> 2001:1234:1::/64 ::                       0         32768 i
*  2001:1234:2::/64 2001:13::c                             0 3 2 i
*>                  2001:12::b               0             0 2 i
*  2001:1234:3::/64 2001:12::b                             0 2 3 i
*>                  2001:13::c               0             0 3 i
*  2001:1234:4::/64 2001:13::c                             0 3 2 4 i
*>                  2001:12::b                             0 2 4 i

Displayed  4 out of 7 total prefixes
`

func learned(nh string, path string, med bool, best bool) speaker.PathView {
	return speaker.PathView{Valid: true, Best: best, NextHop: ma(nh), ASPath: path, Origin: "IGP", HasMetric: med}
}

func TestTableMatchesSeed(t *testing.T) {
	tab := &speaker.Table{
		RouterID: ma("0.0.0.2"),
		Routes: []speaker.Route{
			{Prefix: mp("2001:1234:1::/64"), Paths: []speaker.PathView{{Valid: true, Best: true, Local: true, NextHop: ma("::"), HasMetric: true, Weight: 32768, Origin: "IGP"}}},
			{Prefix: mp("2001:1234:2::/64"), Paths: []speaker.PathView{learned("2001:13::c", "3 2", false, false), learned("2001:12::b", "2", true, true)}},
			{Prefix: mp("2001:1234:3::/64"), Paths: []speaker.PathView{learned("2001:12::b", "2 3", false, false), learned("2001:13::c", "3", true, true)}},
			{Prefix: mp("2001:1234:4::/64"), Paths: []speaker.PathView{learned("2001:13::c", "3 2 4", false, false), learned("2001:12::b", "2 4", false, true)}},
		},
	}
	var b strings.Builder
	writeTable(&output{w: &b}, tab)
	if diff := cmp.Diff(seedTable, b.String()); diff != "" {
		t.Errorf("table (-seed +ours):\n%s", diff)
	}
}

// After as2rb-eth0 went down: paths via 2001:12::b lose their `*`.
const seedTableAfterDown = `*> 2001:1234:1::/64 ::                       0         32768 i
*> 2001:1234:2::/64 2001:13::c                             0 3 2 i
                    2001:12::b               0             0 2 i
   2001:1234:3::/64 2001:12::b                             0 2 3 i
*>                  2001:13::c               0             0 3 i
`

func TestInvalidPathsLoseTheirStar(t *testing.T) {
	inv := func(v speaker.PathView) speaker.PathView { v.Valid, v.Best = false, false; return v }
	tab := &speaker.Table{
		RouterID: ma("0.0.0.2"),
		Routes: []speaker.Route{
			{Prefix: mp("2001:1234:1::/64"), Paths: []speaker.PathView{{Valid: true, Best: true, Local: true, NextHop: ma("::"), HasMetric: true, Weight: 32768, Origin: "IGP"}}},
			{Prefix: mp("2001:1234:2::/64"), Paths: []speaker.PathView{learned("2001:13::c", "3 2", false, true), inv(learned("2001:12::b", "2", true, false))}},
			{Prefix: mp("2001:1234:3::/64"), Paths: []speaker.PathView{inv(learned("2001:12::b", "2 3", false, false)), learned("2001:13::c", "3", true, true)}},
		},
	}
	var b strings.Builder
	writeTable(&output{w: &b}, tab)
	if !strings.Contains(b.String(), seedTableAfterDown) {
		t.Errorf("table lacks the seed's lines:\n%s\ngot:\n%s", seedTableAfterDown, b.String())
	}
}

// The seed's summary rows, as Quagga laid them out.
func TestSummaryRowsMatchSeed(t *testing.T) {
	s := &speaker.Summary{
		Family: "IPv6 Unicast", RouterID: ma("0.0.0.2"), AS: 1, RIBEntries: 7, Prefixes: 4,
		Established: 1, RoutesReceived: 3,
		Peers: []speaker.PeerSummary{
			{Addr: ma("2001:12::b"), Version: 4, AS: 2, MsgRcvd: 193, MsgSent: 200, UpDown: 8*time.Minute + 35*time.Second, State: speaker.Connect},
			{Addr: ma("2001:13::c"), Version: 4, AS: 3, MsgRcvd: 204, MsgSent: 208, UpDown: 3*time.Hour + 18*time.Minute + 35*time.Second, State: speaker.Established, PfxRcd: 3},
		},
	}
	var b strings.Builder
	writeSummary(&output{w: &b}, s)
	for _, want := range []string{
		"IPv6 Unicast Summary:\n---------------------\nBGP router identifier 0.0.0.2, local AS number 1\n",
		"Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n",
		"2001:12::b      4     2     193     200        0    0    0 00:08:35 Connect\n",
		"2001:13::c      4     3     204     208        0    0    0 03:18:35        3\n",
		"Total number of neighbors 2\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q; got:\n%s", want, b.String())
		}
	}
}

func TestUpDown(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{25*time.Minute + 26*time.Second, "00:25:26"},
		{26*time.Hour + 3*time.Minute, "1d02h03m"},
		{9*24*time.Hour + 3*time.Hour, "01w2d03h"},
	} {
		if got := upDown(c.d, speaker.Established, 1); got != c.want {
			t.Errorf("upDown(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if got := upDown(0, speaker.Idle, 0); got != "never" {
		t.Errorf("upDown of a session that never ran = %q, want never", got)
	}
}

// A reflected path, as FRR lays it out: the IGP cost to the next hop
// after it, ORIGINATOR_ID and CLUSTER_LIST on a line of their own.
const reflectedRoute = `BGP routing table entry for 10.0.1.0/24
Paths: (2 available, best #1, table default)
  65001
    192.168.255.1 (metric 30) from 192.168.255.2 (10.0.0.2)
      Origin IGP, metric 0, localpref 100, weight 0, valid, internal, best (Neighbor IP)
      Originator: 10.0.0.1, Cluster list: 10.0.0.2 10.0.0.9
  65001
    10.255.0.13 from 10.255.0.13 (10.0.1.1)
      Origin IGP, weight 0, valid, external
`

func TestReflectedRoute(t *testing.T) {
	rt := &speaker.Route{Prefix: mp("10.0.1.0/24"), Paths: []speaker.PathView{
		{Valid: true, Best: true, Internal: true, NextHop: ma("192.168.255.1"), HasMetric: true, LocPrf: 100, HasLocPrf: true,
			ASPath: "65001", Origin: "i", Peer: ma("192.168.255.2"), PeerRouterID: ma("10.0.0.2"), SelectionReason: "Neighbor IP",
			OriginatorID: ma("10.0.0.1"), ClusterList: []netip.Addr{ma("10.0.0.2"), ma("10.0.0.9")}, IGPMetric: 30},
		{Valid: true, NextHop: ma("10.255.0.13"), ASPath: "65001", Origin: "i", Peer: ma("10.255.0.13"), PeerRouterID: ma("10.0.1.1")},
	}}
	var b strings.Builder
	writeRoute(&output{w: &b}, rt)
	if diff := cmp.Diff(reflectedRoute, b.String()); diff != "" {
		t.Errorf("route (-want +got):\n%s", diff)
	}
}

// received-routes ends as FRR's does: the routes the import policy
// refused are counted, "(N filtered)".
func TestReceivedRoutesCountFiltered(t *testing.T) {
	denied := learned("10.255.0.18", "666", true, false)
	denied.Denied = true
	tab := &speaker.Table{
		RouterID: ma("10.254.0.3"),
		Routes: []speaker.Route{
			{Prefix: mp("10.10.0.0/24"), Paths: []speaker.PathView{denied}},
			{Prefix: mp("10.66.0.0/24"), Paths: []speaker.PathView{learned("10.255.0.18", "666", true, false)}},
		},
	}
	for _, c := range []struct {
		tab  *speaker.Table
		want string
	}{
		{tab, "\nTotal number of prefixes 2 (1 filtered)\n"},
		{&speaker.Table{RouterID: tab.RouterID, Routes: tab.Routes[1:]}, "\nTotal number of prefixes 1\n"},
	} {
		var b strings.Builder
		writeNeighborRoutes(&output{w: &b}, c.tab)
		if !strings.HasSuffix(b.String(), c.want) {
			t.Errorf("received-routes ends %q, want %q:\n%s", b.String()[strings.LastIndex(b.String(), "\nTotal"):], c.want, b.String())
		}
	}
}
