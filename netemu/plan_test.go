package netemu

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/topo"
)

// TestPlanRefuses checks the model checks that run before anything is
// created: each error names the problem (and the position when the model
// has one).
func TestPlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(m *topo.Lab)
		want   string
	}{
		{"lab name", func(m *topo.Lab) { m.Name = "-bad" }, `lab name "-bad"`},
		{"long lab name", func(m *topo.Lab) { m.Name = strings.Repeat("a", 21) }, "lab name"},
		{"interface name", func(m *topo.Lab) { m.Routers[1].Interfaces[0].Name = "as2rb/eth0" }, "seed.yaml:12:3: node as2rb: invalid interface name"},
		{"duplicate interface", func(m *topo.Lab) { m.Routers[1].Interfaces[1].Name = "as2rb-eth0" }, "interface as2rb-eth0 used twice"},
		{"namespace outside the lab", func(m *topo.Lab) { m.Routers[0].Namespace = "elsewhere" }, `namespace name "elsewhere" is not of the form`},
		{"interface on no link", func(m *topo.Lab) { m.Routers[0].Interfaces[0].Link = nil }, "interface as1ra-eth0 is on no link"},
		{"invalid address", func(m *topo.Lab) { m.Routers[0].Interfaces[0].Addrs[0] = netip.Prefix{} }, "invalid address"},
		{"IPv4-mapped address", func(m *topo.Lab) {
			m.Routers[0].Interfaces[0].Addrs[0] = netip.MustParsePrefix("::ffff:10.0.0.1/120")
		}, "invalid address"},
		{"link to another lab", func(m *topo.Lab) {
			m.Links[0].B = seedModel("other").Routers[1].Interfaces[0]
		}, "an end is not an interface of the lab"},
		{"link listed twice", func(m *topo.Lab) { m.Links = append(m.Links, m.Links[0]) }, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := seedModel("tplan")
			for _, r := range m.Routers {
				r.Pos = topo.Pos{File: "seed.yaml", Line: 12, Col: 3}
			}
			tc.change(m)
			_, err := makePlan(m)
			if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("makePlan = %v, want ErrBadModel containing %q", err, tc.want)
			}
		})
	}
}

// TestPlanSeed checks the plan of the seed: namespaces, veth ends and
// their MACs, what is brought up later, the hosts' routes.
func TestPlanSeed(t *testing.T) {
	p, err := makePlan(seedModel("tplan"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tplan-as1ra", "tplan-as2rb", "tplan-as3rc", "tplan-as4rd", "tplan-h1", "tplan-h2", "tplan-h3", "tplan-h4"}
	if diff := cmp.Diff(want, p.namespaces()); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	var veths []string
	for _, v := range p.veths {
		veths = append(veths, v.a.ns.ns+"/"+v.a.dev+"="+v.a.mac.String()+" "+v.b.ns.ns+"/"+v.b.dev+"="+v.b.mac.String())
	}
	wantVeths := []string{
		"tplan-as1ra/as1ra-eth0=02:00:01:00:00:00 tplan-as2rb/as2rb-eth0=02:00:02:00:00:00",
		"tplan-as1ra/as1ra-eth1=02:00:01:00:01:00 tplan-as3rc/as3rc-eth0=02:00:03:00:00:00",
		"tplan-as2rb/as2rb-eth1=02:00:02:00:01:00 tplan-as3rc/as3rc-eth1=02:00:03:00:01:00",
		"tplan-as2rb/as2rb-eth2=02:00:02:00:02:00 tplan-as4rd/as4rd-eth0=02:00:04:00:00:00",
		"tplan-as1ra/as1ra-eth2=02:00:01:00:02:00 tplan-h1/h1-eth0=02:00:05:00:00:00",
		"tplan-as2rb/as2rb-eth3=02:00:02:00:03:00 tplan-h2/h2-eth0=02:00:06:00:00:00",
		"tplan-as3rc/as3rc-eth2=02:00:03:00:02:00 tplan-h3/h3-eth0=02:00:07:00:00:00",
		"tplan-as4rd/as4rd-eth1=02:00:04:00:01:00 tplan-h4/h4-eth0=02:00:08:00:00:00",
	}
	if diff := cmp.Diff(wantVeths, veths); diff != "" {
		t.Errorf("veths (-want +got):\n%s", diff)
	}
	if len(p.bridges) != 0 {
		t.Errorf("bridges for one-host LANs: %d", len(p.bridges))
	}
	h1 := p.byName["h1"]
	if diff := cmp.Diff(map[string]int{"h1-eth0": 2}, h1.index); diff != "" {
		t.Errorf("h1 ifindexes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"as1ra-eth0": 2, "as1ra-eth1": 3, "as1ra-eth2": 4}, p.byName["as1ra"].index); diff != "" {
		t.Errorf("as1ra ifindexes (-want +got):\n%s", diff)
	}
	var routes []string
	for _, r := range h1.routes {
		routes = append(routes, r.dev+" via "+r.gw.String())
	}
	if diff := cmp.Diff([]string{"h1-eth0 via 10.1.1.1", "h1-eth0 via 2001:1234:1::a"}, routes); diff != "" {
		t.Errorf("h1 routes (-want +got):\n%s", diff)
	}
}

// TestPlanBridge checks the devices of a LAN with several hosts.
func TestPlanBridge(t *testing.T) {
	p, err := makePlan(lanModel("tplan"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.bridges) != 1 || p.bridges[0].name != "r1-eth1" || p.bridges[0].ns.ns != "tplan-r1" {
		t.Fatalf("bridges = %+v", p.bridges)
	}
	var ports []string
	for _, v := range p.veths {
		if v.master != nil {
			ports = append(ports, v.a.dev+"-"+v.b.dev)
		}
	}
	if diff := cmp.Diff([]string{"r1-eth1p1-ha-eth0", "r1-eth1p2-hb-eth0", "r1-eth1p3-hc-eth0"}, ports); diff != "" {
		t.Errorf("bridge ports (-want +got):\n%s", diff)
	}
	want := map[string]int{"r1-eth0": 2, "r1-eth1": 3, "r1-eth1p1": 4, "r1-eth1p2": 5, "r1-eth1p3": 6}
	if diff := cmp.Diff(want, p.byName["r1"].index); diff != "" {
		t.Errorf("r1 ifindexes (-want +got):\n%s", diff)
	}
	if got := bridgePortName("abcdefgh-eth12", 3); got != "lanp3" {
		t.Errorf("bridgePortName of a long name = %q, want lanp3", got)
	}
}

// TestProcStat checks the /proc/<pid>/stat parsing behind liveness.
func TestProcStat(t *testing.T) {
	state, start, err := procStat(1)
	if err != nil || start == 0 || state == 0 {
		t.Fatalf("procStat(1) = %c, %d, %v", state, start, err)
	}
	if !processAlive(1, start) {
		t.Errorf("pid 1 not alive")
	}
	if processAlive(1, start+1) {
		t.Errorf("pid 1 alive with another start time: recycled pids would pass")
	}
	if processAlive(0, 0) || processAlive(1<<30, 0) {
		t.Errorf("nonexistent pids alive")
	}
}
