package wire

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJSONSeed(t *testing.T) {
	for _, tc := range []struct{ hex, want string }{
		{seedUpdate94, `{"type":"UPDATE","attributes":[` +
			`{"code":14,"name":"Multi-Protocol Reach NLRI","flags":"OE","value":{"afi":"IPv6","safi":"Unicast","next_hops":["2001:12::a","fe80::20ca:6fff:fe8a:98a4"],"nlri":["2001:1234:1::/64"]}},` +
			`{"code":1,"name":"Origin","flags":"T","value":"IGP"},` +
			`{"code":2,"name":"AS Path","flags":"TE","value":[{"type":"AS_SEQUENCE","asns":[1]}]},` +
			`{"code":4,"name":"Multi Exit Discriminator","flags":"O","value":0}]}`},
		{seedEoRIPv6, `{"type":"UPDATE","end_of_rib":"IPv6 Unicast","attributes":[` +
			`{"code":15,"name":"Multi-Protocol Unreach NLRI","flags":"O","value":{"afi":"IPv6","safi":"Unicast"}}]}`},
		{seedEoRIPv4, `{"type":"UPDATE","end_of_rib":"IPv4 Unicast","attributes":[]}`},
		{seedKeepalive, `{"type":"KEEPALIVE"}`},
		{seedBadPeerAS, `{"type":"NOTIFICATION","code":2,"subcode":2,"code_name":"OPEN Message Error","subcode_name":"Bad Peer AS","data":"0016","text":"OPEN Message Error/Bad Peer AS (2/2): peer AS 22"}`},
		{seedOpenAS1, `{"type":"OPEN","version":4,"my_as":1,"as":1,"hold_time":180,"id":"0.0.0.2","capabilities":[` +
			`{"code":1,"name":"Multiprotocol Extensions","afi":"IPv4","safi":"Unicast"},` +
			`{"code":1,"name":"Multiprotocol Extensions","afi":"IPv6","safi":"Unicast"},` +
			`{"code":128,"name":"Route Refresh (Cisco)"},` +
			`{"code":2,"name":"Route Refresh"},` +
			`{"code":65,"name":"32-Bit AS Number","as":1},` +
			`{"code":64,"name":"Graceful Restart","restarting":false,"notification":false,"restart_time":120,"families":[]}]}`},
	} {
		m, err := Parse(unhex(t, tc.hex), seedOpts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, string(got)); diff != "" {
			t.Errorf("%s: JSON mismatch (-want +got):\n%s", Summary(m), diff)
		}
	}
}
