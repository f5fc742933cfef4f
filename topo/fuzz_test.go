package topo

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes, starting from every shipped and
// test topology. Parse must never panic; a failure must be a sorted,
// non-empty ErrorList whose positions lie in the file; a success must be a
// lab whose invariants hold.
//
//	go test ./topo -run '^$' -fuzz FuzzParse -fuzztime 3m -parallel 2
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../topologies/*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	ba, _ := GenerateBA(12, 2, 1)
	f.Add(ba)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			lines := 1
			for _, c := range data {
				if c == '\n' {
					lines++
				}
			}
			for i, e := range list {
				if e.Pos.Line < 0 || e.Pos.Line > lines || e.Kind == nil {
					t.Fatalf("error %d: %v (kind %v) outside the file's %d lines", i, e, e.Kind, lines)
				}
				if i > 0 && comparePos(list[i-1].Pos, e.Pos) > 0 {
					t.Fatalf("errors not sorted: %v", err)
				}
				_ = e.Pretty()
			}
			return
		}
		checkInvariants(t, l)
	})
}

// checkInvariants verifies what every consumer of a Lab relies on.
func checkInvariants(t *testing.T, l *Lab) {
	t.Helper()
	if !labNameRE.MatchString(l.Name) {
		t.Fatalf("lab name %q", l.Name)
	}
	seenAddr := map[string]string{}
	for _, n := range l.Nodes() {
		if l.Node(n.Name) == nil {
			t.Fatalf("node %s not indexed", n.Name)
		}
		for idx, i := range n.Interfaces {
			if len(i.Name) > MaxIfaceName || i.Index != idx || i.Node.Name != n.Name || i.Link == nil {
				t.Fatalf("interface %s of %s: index %d, link %v", i.Name, n.Name, i.Index, i.Link)
			}
			fams := map[Family]bool{}
			for _, p := range i.Addrs {
				if fams[FamilyOf(p.Addr())] {
					t.Fatalf("%s has two %v addresses", i.Name, FamilyOf(p.Addr()))
				}
				fams[FamilyOf(p.Addr())] = true
				if other, dup := seenAddr[p.Addr().String()]; dup {
					t.Fatalf("address %v on %s and %s", p, other, i.Name)
				}
				seenAddr[p.Addr().String()] = i.Name
			}
		}
	}
	for _, k := range l.Links {
		if k.BridgePort != "" && len(k.BridgePort) > MaxIfaceName {
			t.Fatalf("bridge port %q too long", k.BridgePort)
		}
		if k.LAN == nil {
			for _, f := range []Family{IPv4, IPv6} {
				a, okA := k.A.Addr(f)
				b, okB := k.B.Addr(f)
				if okA != okB || okA && a.Masked() != b.Masked() {
					t.Fatalf("%v: %v and %v", k, a, b)
				}
			}
		}
	}
	for _, h := range l.Hosts {
		lan := h.Router.LAN
		for _, p := range h.Interfaces[0].Addrs {
			want := lan.Prefix4
			if p.Addr().Is6() {
				want = lan.Prefix6
			}
			if p.Masked() != want {
				t.Fatalf("host %s address %v outside its LAN %v", h.Name, p, want)
			}
		}
	}
	for _, s := range l.Sessions {
		if s.A.Router == nil || s.B.Router == nil || FamilyOf(s.A.Addr) != s.Family || FamilyOf(s.B.Addr) != s.Family {
			t.Fatalf("session %d: %+v", s.Index, s)
		}
		if s.Link == nil {
			// Between loopbacks, inside one AS that is not per-link.
			la, okA := s.A.Router.Loopback(s.Family)
			lb, okB := s.B.Router.Loopback(s.Family)
			if !s.IBGP() || s.A.Router.AS.IBGP == IBGPPerLink || !okA || !okB || la != s.A.Addr || lb != s.B.Addr ||
				!s.A.Loopback || !s.B.Loopback || s.A.Iface != nil || s.A.BGP != nil {
				t.Fatalf("loopback session %d: %+v", s.Index, s)
			}
		} else if s.A.BGP == nil || s.B.BGP == nil || s.A.Loopback || s.IBGP() && s.A.Router.AS.IBGP != IBGPPerLink {
			t.Fatalf("link session %d: %+v", s.Index, s)
		}
		if c := s.RRClient; c != nil && (c != s.A.Router && c != s.B.Router || c.RR) {
			t.Fatalf("session %d: client %s", s.Index, c.Name)
		}
	}
	seenLo := map[netip.Addr]string{}
	for _, r := range l.Routers {
		for i, a := range r.Loopbacks {
			if other, dup := seenLo[a]; dup || seenAddr[a.String()] != "" {
				t.Fatalf("loopback %v of %s also on %s%s", a, r.Name, other, seenAddr[a.String()])
			}
			seenLo[a] = r.Name
			if i > 0 && FamilyOf(a) == FamilyOf(r.Loopbacks[i-1]) {
				t.Fatalf("%s has two %v loopbacks", r.Name, FamilyOf(a))
			}
		}
		if r.RR != r.ClusterID.IsValid() || r.RR && r.AS.IBGP != IBGPRouteReflector {
			t.Fatalf("router %s: rr %v cluster-id %v in a %v AS", r.Name, r.RR, r.ClusterID, r.AS.IBGP)
		}
	}
	for _, k := range l.Links {
		if k.Cost < 1 || k.Cost > 65535 || (k.LAN == nil) != (k.BGP[0] != nil && k.BGP[1] != nil) {
			t.Fatalf("link %v: cost %d, bgp %v", k, k.Cost, k.BGP)
		}
		if k.Relation != RelNone && (k.LAN != nil || k.A.Node.Router().AS == k.B.Node.Router().AS) {
			t.Fatalf("link %v: relation %v", k, k.Relation)
		}
	}
	if l.Routing == nil {
		t.Fatal("nil Routing")
	}
	for _, r := range l.Routers {
		if !r.RouterID.Is4() || r.RouterID.IsUnspecified() {
			t.Fatalf("router %s ID %v", r.Name, r.RouterID)
		}
		if r.BGP.Hold != 0 && (r.BGP.Keepalive <= 0 || r.BGP.Keepalive >= r.BGP.Hold) {
			t.Fatalf("router %s timers %+v", r.Name, r.BGP)
		}
	}
	if err := WriteText(io.Discard, l); err != nil {
		t.Fatal(err)
	}
	if err := WriteDOT(io.Discard, l); err != nil {
		t.Fatal(err)
	}
}

// TestInvariantsOfTopologies runs the fuzz target's checks on the shipped
// labs, so they hold even when nobody fuzzes.
func TestInvariantsOfTopologies(t *testing.T) {
	files, _ := filepath.Glob("../topologies/*.yaml")
	for _, f := range files {
		checkInvariants(t, mustLoad(t, f))
	}
	src, _ := GenerateBA(300, 3, 9)
	l, err := Parse("ba.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, l)
}
