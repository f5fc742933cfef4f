package speakerconf

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/exabgp"
	"lab/speaker"
	"lab/speaker/rib"
	"lab/topo"
)

// topologies/exabgp-api.yaml: its static routes carry ExaBGP's attributes
// to the speaker, and its router's programs come out as the runner's
// configuration, run from the file's directory.
func TestExaBGPAPITopology(t *testing.T) {
	l, err := topo.Load("../topologies/exabgp-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := l.Router("exabgp")
	cfg, err := Config(l, r, "/run/netns/x")
	if err != nil {
		t.Fatal(err)
	}
	want := []speaker.Origination{
		{Prefix: netip.MustParsePrefix("100.40.0.0/24"), MED: 100, HasMED: true, LocalPref: 200, HasLocalPref: true,
			Communities: []uint32{65001<<16 | 100}},
		{Prefix: netip.MustParsePrefix("100.50.0.0/24"), ASPath: []uint32{65001, 65001, 65001}, Origin: rib.OriginIGP},
	}
	if diff := cmp.Diff(want, cfg.Originate, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("originations (-want +got):\n%s", diff)
	}
	sp, err := speaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	acfg, ok, err := API(l, r, sp, "/run/netns/x")
	if err != nil || !ok {
		t.Fatalf("API: %v, %v", ok, err)
	}
	dir, _ := filepath.Abs("../topologies")
	if acfg.Dir != dir || acfg.Namespace != "/run/netns/x" || acfg.Host != "exabgp" || acfg.Speaker != sp {
		t.Errorf("runner configuration %+v", acfg)
	}
	wantP := []exabgp.Process{
		{Name: "dynamic-routes", Run: []string{"../scripts/api/announce.py"}, Text: true},
		{Name: "receive-routes", Run: []string{"../scripts/api/receive.py"}, Receive: exabgp.Receive{Update: true, NeighborChanges: true}},
	}
	if diff := cmp.Diff(wantP, acfg.Processes); diff != "" {
		t.Errorf("processes (-want +got):\n%s", diff)
	}
	if _, ok, _ := API(l, l.Router("peer"), sp, ""); ok {
		t.Error("peer runs no program, yet API says it does")
	}
}

// A route's own next hop and origin.
func TestOriginationNextHop(t *testing.T) {
	l, err := topo.Parse("t.yaml", []byte(`routers:
  r1:
    as: 1
    prefixes:
      - {prefix: 10.9.0.0/24, next-hop: 10.0.0.9, origin: incomplete, as-path: [1, 2, [3, 4]]}
  r2: {as: 2}
links: [[r1, r2]]
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Config(l, l.Router("r1"), "")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Originate[0]
	if o.NextHop != netip.MustParseAddr("10.0.0.9") || o.Origin != rib.OriginIncomplete ||
		!cmp.Equal(o.ASPath, []uint32{1, 2}) || !cmp.Equal(o.ASSet, []uint32{3, 4}) {
		t.Errorf("origination %+v", o)
	}
}
