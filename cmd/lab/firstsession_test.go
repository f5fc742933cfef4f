package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Seed 002's story (issue 12): topologies/exabgp-first-session.yaml, an
// FRR router run by the lab facing the lab's router in ExaBGP's role, over
// an MD5-signed session. FRR's own `show ip bgp summary json` and
// `received-routes` hold what the seed shows (the session Established
// with AS 65001, the static routes with their MED, community and AS path),
// and the receive program prints the seed's [RECEIVED] and [STATE] lines
// for what FRR announces.
func TestExaBGPFirstSession(t *testing.T) {
	needDaemons(t)
	l := newTestLab(t)
	l.up("topologies/exabgp-first-session.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()
	l.must("cmd", l.name, "wait 60")
	vtysh := func(cmd string, v any) error {
		out, errs, code := l.run(nil, "exec", l.name, "peer", "vtysh", "-c", cmd)
		if code != 0 {
			return fmt.Errorf("vtysh -c %q: exit %d: %s", cmd, code, errs)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			return fmt.Errorf("vtysh -c %q: %v: %s", cmd, err, out)
		}
		return nil
	}
	eventually(t, 20*time.Second, "FRR's summary and received routes", func() error {
		var sum struct {
			IPv4Unicast struct {
				AS    uint32 `json:"as"`
				Peers map[string]struct {
					RemoteAs  uint32 `json:"remoteAs"`
					State     string `json:"state"`
					PfxRcd    int    `json:"pfxRcd"`
					PeerState string `json:"peerState"`
				} `json:"peers"`
			} `json:"ipv4Unicast"`
		}
		if err := vtysh("show ip bgp summary json", &sum); err != nil {
			return err
		}
		p, ok := sum.IPv4Unicast.Peers["192.168.1.2"]
		if sum.IPv4Unicast.AS != 65000 || !ok || p.RemoteAs != 65001 || p.State != "Established" || p.PfxRcd != 5 {
			return fmt.Errorf("FRR's summary: AS %d, 192.168.1.2: %+v (want Established, AS 65001, 5 prefixes)", sum.IPv4Unicast.AS, p)
		}
		var rr struct {
			ReceivedRoutes map[string]struct {
				NextHop string `json:"nextHop"`
				Metric  *int   `json:"metric"`
				Path    string `json:"path"`
			} `json:"receivedRoutes"`
		}
		if err := vtysh("show ip bgp neighbor 192.168.1.2 received-routes json", &rr); err != nil {
			return err
		}
		want := map[string]string{
			"100.10.0.0/24": "65001", "100.20.0.0/24": "65001", "100.30.0.0/24": "65001",
			"100.40.0.0/24": "65001", "100.50.0.0/24": "65001 65001 65001",
		}
		for pfx, path := range want {
			r, ok := rr.ReceivedRoutes[pfx]
			if !ok || r.NextHop != "192.168.1.2" || r.Path != path {
				return fmt.Errorf("FRR's received route %s: %+v, want path %q via 192.168.1.2 (all: %+v)", pfx, r, path, rr.ReceivedRoutes)
			}
		}
		if m := rr.ReceivedRoutes["100.40.0.0/24"].Metric; m == nil || *m != 100 {
			return fmt.Errorf("FRR's received 100.40.0.0/24 has MED %v, want 100", m)
		}
		var one struct {
			Paths []struct {
				Community struct {
					String string `json:"string"`
				} `json:"community"`
			} `json:"paths"`
		}
		if err := vtysh("show ip bgp 100.40.0.0/24 json", &one); err != nil {
			return err
		}
		if len(one.Paths) != 1 || one.Paths[0].Community.String != "65001:100" {
			return fmt.Errorf("FRR's 100.40.0.0/24: %+v, want community 65001:100", one.Paths)
		}
		return nil
	})
	// The typed checks read the FRR router through vtysh's JSON, as the
	// lab's own routers through theirs.
	l.must("cmd", l.name, "check peer session exabgp ipv4",
		"check peer prefix 100.40.0.0/24 best nexthop exabgp med 100 community 65001:100 aspath 65001",
		"check peer prefix 100.40.0.0/24 missing local-pref 200", // LOCAL_PREF is for iBGP peers only
		"check peer prefix 100.50.0.0/24 aspath 65001 65001 65001")
	if _, _, code := l.run(nil, "cmd", l.name, "check peer prefix 100.40.0.0/24 med 99"); code == 0 {
		t.Error("check peer prefix 100.40.0.0/24 med 99 passed: FRR has MED 100")
	}
	eventually(t, 20*time.Second, "receive.py's lines", func() error {
		return shows(l, "exabgp show log", "[STATE] BGP session state: up", "[RECEIVED] Route 10.0.0.0/8 via 192.168.1.1")
	})
	// The MD5 key is in use: without it at the lab router's end (the
	// seed's "MD5 mismatch"), FRR's kernel drops the unsigned segments and
	// the session stays down; the key back, it comes up.
	b, err := os.ReadFile("../../topologies/exabgp-first-session.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nokey := strings.Replace(string(b), "    password: secretpassword", "    password: secretpassword\n    bgp: {exabgp: {password: \"\"}}", 1)
	f := filepath.Join(t.TempDir(), "nokey.yaml")
	if err := os.WriteFile(f, []byte(nokey), 0o644); err != nil {
		t.Fatal(err)
	}
	out := l.must("apply", l.name, f)
	if !strings.Contains(out, "password (session reset)") {
		t.Errorf("apply without the key said:\n%s", out)
	}
	eventually(t, 20*time.Second, "FRR refusing the unsigned segments", func() error {
		n, err := tcpExt(l, "peer", "TCPMD5NotFound")
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no TCPMD5NotFound in FRR's namespace yet")
		}
		out, _, _ := l.run(nil, "cmd", l.name, "exabgp show bgp neighbors 192.168.1.1")
		if strings.Contains(out, "BGP state = Established") {
			return fmt.Errorf("the session is up without the key:\n%s", out)
		}
		return nil
	})
	l.must("apply", l.name, "../../topologies/exabgp-first-session.yaml")
	l.must("cmd", l.name, "wait 60")
	if out := l.must("cmd", l.name, "exabgp show bgp neighbors 192.168.1.1"); !strings.Contains(out, "BGP state = Established") {
		t.Errorf("the key back, exabgp's session to FRR:\n%s", out)
	}
}
