package shell

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/control"
)

func seedInfo() *control.Info {
	node := func(name, kind string, addrs ...string) control.NodeInfo {
		var ps []netip.Prefix
		for _, a := range addrs {
			ps = append(ps, netip.MustParsePrefix(a))
		}
		return control.NodeInfo{Name: name, Kind: kind, Interfaces: []control.IfaceInfo{{Name: name + "-eth0", Addrs: ps}}}
	}
	return &control.Info{Name: "simple-bgp", Nodes: []control.NodeInfo{
		node("as1ra", "router", "10.12.0.1/24", "2001:12::a/64"),
		node("h1", "host", "10.1.0.1/24", "2001:1234:1::1/64"),
		node("h2", "host", "10.2.0.2/24", "2001:1234:2::2/64"),
		node("h6", "host", "2001:1234:6::6/64"),
	}}
}

func TestSubstitute(t *testing.T) {
	in := seedInfo()
	for _, c := range []struct{ src, cmd, want string }{
		// The seed's command: traceroute6 must get the IPv6 address even
		// though both hosts have IPv4 (IPMininet would pick IPv4 here).
		{"h1", "traceroute6 h2", "traceroute6 2001:1234:2::2"},
		{"h1", "ping -c1 h2", "ping -c1 10.2.0.2"},
		{"h1", "ping -6 -c1 h2", "ping -6 -c1 2001:1234:2::2"},
		{"h1", "ping -c1 h6", "ping -c1 2001:1234:6::6"}, // only IPv6 can replace h6
		{"h1", "h2", "h2"},                       // the program itself is never replaced
		{"h6", "ping h1", "ping 2001:1234:1::1"}, // h6 has no IPv4
		{"h1", "ping as1ra", "ping 10.12.0.1"},
		{"h1", "echo h3", "echo h3"}, // not a node
	} {
		got := strings.Join(substitute(in, in.Node(c.src), strings.Fields(c.cmd)), " ")
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", c.src, c.cmd, diff)
		}
	}
}
