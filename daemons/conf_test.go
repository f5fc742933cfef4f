package daemons

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/topo"
)

// mixedSeed is the seed topology with as2rb on FRR and as3rc on BIRD.
func mixedSeed(t *testing.T) *topo.Lab {
	t.Helper()
	b, err := os.ReadFile("../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "  as2rb:\n    as: 2\n", "  as2rb:\n    as: 2\n    kind: frr\n", 1)
	src = strings.Replace(src, "  as3rc:\n    as: 3\n", "  as3rc:\n    as: 3\n    kind: bird\n", 1)
	l, err := topo.Parse("mixed.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConfigsParse(t *testing.T) {
	l := mixedSeed(t)
	dir := t.TempDir()
	fc, err := FRRConfig(l, l.Router("as2rb"), filepath.Join(dir, "bgpd.log"))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := BIRDConfig(l, l.Router("as3rc"), filepath.Join(dir, "bird.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FRR:\n%s\nBIRD:\n%s", fc, bc)
	checkFRR(t, fc)
	checkBIRD(t, bc)
}

// checkFRR has bgpd parse a configuration (its dry run, -C).
func checkFRR(t *testing.T, conf string) {
	t.Helper()
	if _, err := exec.LookPath(frrBgpd); err != nil {
		t.Skip("FRR is not installed")
	}
	f := filepath.Join(t.TempDir(), "bgpd.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(frrBgpd, "-C", "-f", f, "-u", "root", "-g", frrGroup(), "--vty_socket", filepath.Dir(f), "-z", filepath.Join(filepath.Dir(f), "zs"), "-P", "0", "-i", filepath.Join(filepath.Dir(f), "p"))
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		// bgpd makes a directory for its crash log, and leaves it.
		os.RemoveAll(fmt.Sprintf("/var/tmp/frr/bgpd.%d", cmd.Process.Pid))
	}
	if err != nil || strings.Contains(string(out), "[EC ") {
		t.Fatalf("bgpd -C: %v\n%s\nconfiguration:\n%s", err, out, numbered(conf))
	}
}

// checkBIRD has BIRD parse a configuration (-p).
func checkBIRD(t *testing.T, conf string) {
	t.Helper()
	if _, err := exec.LookPath(bird); err != nil {
		t.Skip("BIRD is not installed")
	}
	f := filepath.Join(t.TempDir(), "bird.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bird, "-p", "-c", f).CombinedOutput()
	if err != nil {
		t.Fatalf("bird -p: %v\n%s\nconfiguration:\n%s", err, out, numbered(conf))
	}
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, l)
	}
	return b.String()
}

// kinded returns the topology file with every router given kind.
func kinded(t *testing.T, file, kind string, edit func(string) string) *topo.Lab {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.ReplaceAll(string(b), "{as: ", "{kind: "+kind+", as: ")
	if edit != nil {
		src = edit(src)
	}
	l, err := topo.Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const policyFile = "../cmd/lab/testdata/policy-diff.yaml"

func TestFRRPolicyConfigsParse(t *testing.T) {
	l := kinded(t, policyFile, "frr", nil)
	if err := Check(l); err != nil {
		t.Fatal(err)
	}
	for _, r := range l.Routers {
		conf, err := FRRConfig(l, r, "/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		checkFRR(t, conf)
	}
	conf, _ := FRRConfig(l, l.Router("r2"), "/dev/null")
	for _, want := range []string{
		// The chain of r2's import from its customer r6: the relation's
		// policy, then the named one.
		"route-map FROM-r6-IPV4 permit 10\n call RELATION-FROM-CUSTOMER\n on-match next\nexit\nroute-map FROM-r6-IPV4 permit 20\n call FROM-R6\nexit\n",
		// Its deletion before its addition.
		"route-map FROM-R6 permit 10\n match community TAGGED\n set metric 5\n set comm-list TAGGED delete\n call FROM-R6-10-ADD\nexit\n",
		"route-map FROM-R6-10-ADD permit 10\n set community 20:6 additive\nexit\n",
		// The peer relation with r1, tags stripped towards every AS.
		"route-map TO-r1-IPV6 permit 10\n call RELATION-TO-PEER\n on-match next\nexit\nroute-map TO-r1-IPV6 permit 20\n set large-comm-list RELATION-TAGS delete\nexit\n",
		"route-map RELATION-FROM-PEER permit 10\n set local-preference 150\n set large-comm-list RELATION-TAGS delete\n on-match next\nexit\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("r2's configuration lacks\n%s\nin\n%s", want, numbered(conf))
		}
	}
	conf, _ = FRRConfig(l, l.Router("r5"), "/dev/null")
	// The end's weight runs before the relation's policy, in its entry.
	if want := "route-map FROM-r4-IPV4 permit 10\n set weight 100\n call RELATION-FROM-PROVIDER\n on-match next\nexit\nroute-map FROM-r4-IPV4 permit 20\n call NO-30\nexit\n"; !strings.Contains(conf, want) {
		t.Errorf("r5's configuration lacks\n%s\nin\n%s", want, numbered(conf))
	}
	conf, _ = FRRConfig(l, l.Router("r4"), "/dev/null")
	for _, want := range []string{
		// Per family prefix lists, and the neighbour-AS match resolved.
		"ip prefix-list R2 seq 5 permit 10.2.0.0/24\n",
		"ipv6 prefix-list R2 seq 5 permit 2001:db8:2::/48\n",
		"ip prefix-list SHORT seq 5 permit 10.0.0.0/8 le 24\n",
		"route-map FROM-R2-IPV4-AS20 permit 20\n match origin incomplete\n set local-preference 80\nexit\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("r4's configuration lacks\n%s\nin\n%s", want, numbered(conf))
		}
	}
}

func TestBIRDPolicyConfigsParse(t *testing.T) {
	// BIRD has no AS-path expressions nor weight: those go.
	l := kinded(t, policyFile, "bird", func(s string) string {
		s = strings.ReplaceAll(s, "{action: deny, match: {aspath: VIA30}}", "{action: deny, match: {neighbor-as: 30}}")
		return strings.ReplaceAll(s, "weight: 100, ", "")
	})
	if err := Check(l); err != nil {
		t.Fatal(err)
	}
	for _, r := range l.Routers {
		conf, err := BIRDConfig(l, r, "/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		checkBIRD(t, conf)
	}
}

func TestCheck(t *testing.T) {
	src := `routing:
  aspath: {LONG: ["_1_"]}
  community: {MIX: ["1:1", "1:1:1"]}
  policy:
    P:
      - {match: {aspath: LONG}}
      - {match: {community: MIX}, set: {weight: 3}}
routers:
  a: {as: 1, kind: frr}
  b: {as: 2, kind: bird, aggregate: [10.0.0.0/8]}
  c: {as: 2, kind: bird}
links:
  - endpoints: [a, b]
    bgp:
      a: {policy: {in: P}}
      b: {weight: 5, default-originate: true, shutdown: "bye", policy: {in: P}}
  - endpoints: [b, c]
  - endpoints: [a, c]
    password: "two words"
`
	t.Chdir(t.TempDir())
	if err := os.WriteFile("c.yaml", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := topo.Load("c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Check(l).(topo.ErrorList) {
		got = append(got, e.Error())
	}
	want := []string{
		`c.yaml:6:9: entry 1 of policy "P" matches AS-path list "LONG" (BIRD has no AS-path regular expressions): router b (kind: bird) has no BIRD form for it`,
		`c.yaml:7:9: entry 2 of policy "P" matches community list "MIX", which holds both communities and large communities (FRR matches each kind with a list of its own: split the list in two entries): router a (kind: frr) has no FRR form for it`,
		`c.yaml:7:9: entry 2 of policy "P" sets weight: router b (kind: bird) has no BIRD form for it`,
		`c.yaml:10:20: iBGP: b shares AS 2 with other routers (BIRD routers of the lab run eBGP sessions only): router b (kind: bird) has no BIRD form for it`,
		`c.yaml:10:38: aggregate 10.0.0.0/8 of b: router b (kind: bird) has no BIRD form for it`,
		`c.yaml:11:20: iBGP: c shares AS 2 with other routers (BIRD routers of the lab run eBGP sessions only): router c (kind: bird) has no BIRD form for it`,
		`c.yaml:16:7: weight 5 on the link's end of b: router b (kind: bird) has no BIRD form for it`,
		`c.yaml:16:7: default-originate on the link's end of b: router b (kind: bird) has no BIRD form for it`,
		`c.yaml:16:7: a shutdown message on the link's end of b (shutdown: true is fine): router b (kind: bird) has no BIRD form for it`,
		`c.yaml:18:5: a password with a space on the link's end of a (vtysh takes it as one word): router a (kind: frr) has no FRR form for it`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	// With the source line, for topo.WriteErrors' caret.
	if e := Check(l).(topo.ErrorList)[0]; e.Source != "      - {match: {aspath: LONG}}" {
		t.Errorf("source line %q", e.Source)
	}
}

// TestExampleConfigsParse writes the configuration of every router of
// every example topology as FRR's and as BIRD's (where Check lets it),
// and has the daemons parse them.
func TestExampleConfigsParse(t *testing.T) {
	files, err := filepath.Glob("../topologies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	files = append(files, "testdata/knobs.yaml")
	for _, f := range files {
		l, err := topo.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []topo.Daemon{topo.DaemonFRR, topo.DaemonBIRD} {
			// Every router runs d (the model is this test's own).
			for _, r := range l.Routers {
				r.Daemon, r.External = d, true
			}
			for _, r := range l.Routers {
				if len(checkRouter(l, r, d)) > 0 {
					continue
				}
				if d == topo.DaemonFRR {
					conf, err := FRRConfig(l, r, "/dev/null")
					if err != nil {
						t.Fatal(err)
					}
					checkFRR(t, conf)
				} else {
					conf, err := BIRDConfig(l, r, "/dev/null")
					if err != nil {
						t.Fatal(err)
					}
					checkBIRD(t, conf)
				}
			}
		}
	}
}
