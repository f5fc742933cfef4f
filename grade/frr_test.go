package grade

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func u32p(v uint32) *uint32 { return &v }

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// addrEqual lets cmp compare netip.Addr, whose fields are unexported.
var addrEqual = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// TestParseRoutePaths reads `show bgp ipv4|ipv6 PREFIX json` paths in
// the shape FRR 8.4 and the lab's routers write them (cli/commands,
// frrjson.go): route reflection's attributes, the IGP metric and the
// IPv6 link-local next hop included.
func TestParseRoutePaths(t *testing.T) {
	cases := []struct {
		name string
		json string
		want []Path
	}{
		{
			// p4 of a chain whose reflector p2 (router ID 10.0.0.2, cluster
			// 10.0.0.2) reflects p1's route: one path from p3 directly, one
			// reflected (ORIGINATOR_ID p1, CLUSTER_LIST p2's) that lost on
			// the cluster list's length.
			name: "reflected",
			json: `{"prefix":"10.1.0.0/24","paths":[
			  {"aspath":{"string":"65001","segments":[{"type":"as-sequence","list":[65001]}],"length":1},
			   "origin":"IGP","metric":0,"locPrf":100,"valid":true,
			   "bestpath":{"overall":true,"selectionReason":"Cluster length"},
			   "originatorId":"10.0.0.1",
			   "nexthops":[{"ip":"192.168.255.1","afi":"ipv4","metric":30,"accessible":true,"used":true}],
			   "peer":{"peerId":"192.168.255.3","routerId":"10.0.0.3","type":"internal"}},
			  {"aspath":{"string":"65001","segments":[{"type":"as-sequence","list":[65001]}],"length":1},
			   "origin":"incomplete","locPrf":100,"valid":true,
			   "originatorId":"10.0.0.1","clusterList":{"list":["10.0.0.2","10.0.0.5"]},
			   "nexthops":[{"ip":"192.168.255.1","afi":"ipv4","metric":30,"accessible":true,"used":true}],
			   "peer":{"peerId":"192.168.255.2","routerId":"10.0.0.2","type":"internal"}}]}`,
			want: []Path{
				{Valid: true, Best: true, Reason: "Cluster length", Internal: true, Peer: netip.MustParseAddr("192.168.255.3"),
					PeerRouterID: netip.MustParseAddr("10.0.0.3"), ASPath: "65001", Origin: "IGP", MED: u32p(0), LocalPref: u32p(100),
					NextHops: addrs("192.168.255.1"), IGPMetric: 30, OriginatorID: netip.MustParseAddr("10.0.0.1"), Detail: true},
				{Valid: true, Internal: true, Peer: netip.MustParseAddr("192.168.255.2"), PeerRouterID: netip.MustParseAddr("10.0.0.2"),
					ASPath: "65001", Origin: "incomplete", LocalPref: u32p(100), NextHops: addrs("192.168.255.1"), IGPMetric: 30,
					OriginatorID: netip.MustParseAddr("10.0.0.1"), ClusterList: addrs("10.0.0.2", "10.0.0.5"), Detail: true},
			},
		},
		{
			// An eBGP IPv6 path: the global next hop (with its IGP metric)
			// first, the link-local one after it.
			name: "ipv6 link-local",
			json: `{"prefix":"2001:db8:10:1::/64","paths":[
			  {"aspath":{"string":"65010","segments":[{"type":"as-sequence","list":[65010]}],"length":1},
			   "origin":"EGP","weight":7,"valid":true,
			   "community":{"string":"65010:1 no-export","list":["65010:1","no-export"]},
			   "largeCommunity":{"string":"65010:1:1","list":["65010:1:1"]},
			   "nexthops":[{"ip":"fd00:2::1","afi":"ipv6","scope":"global","metric":10,"accessible":true},
			               {"ip":"fe80::1ff:fe00:100","afi":"ipv6","scope":"link-local","metric":10,"accessible":true,"used":true}],
			   "peer":{"peerId":"fd00:2::1","routerId":"10.254.0.1","type":"external"}}]}`,
			want: []Path{{Valid: true, Peer: netip.MustParseAddr("fd00:2::1"), PeerRouterID: netip.MustParseAddr("10.254.0.1"),
				ASPath: "65010", Origin: "EGP", Weight: 7, NextHops: addrs("fd00:2::1", "fe80::1ff:fe00:100"),
				LinkLocal: netip.MustParseAddr("fe80::1ff:fe00:100"), IGPMetric: 10,
				Communities: []string{"65010:1", "no-export"}, LargeCommunities: []string{"65010:1:1"}, Detail: true}},
		},
		{
			// A link-local address in the global next hop's slot (a peer
			// that sends no global one) is the global next hop: the scope
			// says which is which.
			name: "ipv6 link-local only",
			json: `{"prefix":"2001:db8:20::/64","paths":[
			  {"aspath":{"string":"65020","segments":[{"type":"as-sequence","list":[65020]}],"length":1},
			   "origin":"IGP","valid":true,
			   "nexthops":[{"ip":"fe80::2","afi":"ipv6","scope":"global","metric":0,"accessible":true,"used":true}],
			   "peer":{"peerId":"fe80::2","routerId":"10.254.0.2","type":"external"}}]}`,
			want: []Path{{Valid: true, Peer: netip.MustParseAddr("fe80::2"), PeerRouterID: netip.MustParseAddr("10.254.0.2"),
				ASPath: "65020", Origin: "IGP", NextHops: addrs("fe80::2"), Detail: true}},
		},
		{
			// The router's own prefix: FRR's "Local" AS path, next hop ::
			// and peer :: (the router ID is the router's).
			name: "local",
			json: `{"prefix":"2001:db8:30::/64","paths":[
			  {"aspath":{"string":"Local","segments":[],"length":0},
			   "origin":"IGP","metric":0,"weight":32768,"valid":true,"sourced":true,"local":true,
			   "bestpath":{"overall":true,"selectionReason":"First path received"},
			   "nexthops":[{"ip":"::","hostname":"p2","afi":"ipv6","scope":"global","metric":0,"accessible":true,"used":true}],
			   "peer":{"peerId":"::","routerId":"10.0.0.2"}}]}`,
			want: []Path{{Valid: true, Best: true, Reason: "First path received", Local: true,
				PeerRouterID: netip.MustParseAddr("10.0.0.2"), Origin: "IGP", MED: u32p(0), Weight: 32768, Detail: true}},
		},
		{
			name: "not in the table",
			json: `{}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, err := ParseRoute([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, rt.Paths, addrEqual); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRouteBadAttributes: an address FRR's JSON should hold and
// does not is an error naming the key.
func TestParseRouteBadAttributes(t *testing.T) {
	for key, path := range map[string]string{
		"originatorId": `{"originatorId":"10.0.0"}`,
		"clusterList":  `{"clusterList":{"list":["10.0.0.2","cluster"]}}`,
	} {
		_, err := ParseRoute([]byte(`{"prefix":"10.1.0.0/24","paths":[` + path + `]}`))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v, want one naming %s", path, err, key)
		}
	}
}

// TestParseTableLinkLocal: the table's JSON scopes its next hops too.
func TestParseTableLinkLocal(t *testing.T) {
	tab, err := ParseTable([]byte(`{"routerId":"10.0.0.4","localAS":65000,"routes":{"2001:db8:10:1::/64":[
	  {"valid":true,"bestpath":true,"pathFrom":"external","weight":0,"peerId":"fd00:2::1","path":"65010","origin":"IGP",
	   "nexthops":[{"ip":"fd00:2::1","afi":"ipv6","scope":"global"},
	               {"ip":"fe80::1ff:fe00:100","afi":"ipv6","scope":"link-local","used":true}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{{Prefix: netip.MustParsePrefix("2001:db8:10:1::/64"), Paths: []Path{{Valid: true, Best: true,
		Peer: netip.MustParseAddr("fd00:2::1"), ASPath: "65010", Origin: "IGP", NextHops: addrs("fd00:2::1", "fe80::1ff:fe00:100"),
		LinkLocal: netip.MustParseAddr("fe80::1ff:fe00:100")}}}}
	if diff := cmp.Diff(want, tab.Routes, addrEqual, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}
