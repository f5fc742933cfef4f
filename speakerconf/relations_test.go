package speakerconf

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lab/topo"
)

// relGraph is who is whose provider, from a topology's relations.
type relGraph struct {
	asOf     map[string]uint32
	provider map[[2]uint32]bool // {p, c}: p is c's provider
	peers    map[[2]uint32]bool // both ways
	adj      map[uint32][]uint32
	prefix   map[netip.Prefix]uint32 // originated prefix → AS
}

func newRelGraph(l *topo.Lab) *relGraph {
	g := &relGraph{asOf: map[string]uint32{}, provider: map[[2]uint32]bool{}, peers: map[[2]uint32]bool{},
		adj: map[uint32][]uint32{}, prefix: map[netip.Prefix]uint32{}}
	for _, r := range l.Routers {
		g.asOf[r.Name] = r.AS.Number
		for _, o := range r.Originate {
			g.prefix[o.Prefix] = r.AS.Number
		}
	}
	for _, k := range l.Links {
		if k.LAN != nil {
			continue
		}
		a, b := g.asOf[k.A.Node.Name], g.asOf[k.B.Node.Name]
		g.adj[a] = append(g.adj[a], b)
		g.adj[b] = append(g.adj[b], a)
		switch k.Relation {
		case topo.RelProviderCustomer:
			g.provider[[2]uint32{a, b}] = true
		case topo.RelCustomerProvider:
			g.provider[[2]uint32{b, a}] = true
		case topo.RelPeer:
			g.peers[[2]uint32{a, b}], g.peers[[2]uint32{b, a}] = true, true
		}
	}
	return g
}

// valleyFree reports whether the AS-level path from the origin (last) to
// the receiver (first) climbs customer to provider, crosses at most one
// peer link, then only descends provider to customer.
func (g *relGraph) valleyFree(path []uint32) bool {
	phase := 0 // 0 climbing, 1 after the peer link or the first descent
	for i := len(path) - 1; i > 0; i-- {
		from, to := path[i], path[i-1]
		switch {
		case g.provider[[2]uint32{to, from}]: // up: from is to's customer
			if phase != 0 {
				return false
			}
		case g.peers[[2]uint32{from, to}]:
			if phase != 0 {
				return false
			}
			phase = 1
		case g.provider[[2]uint32{from, to}]: // down
			phase = 1
		default:
			return false // no such link
		}
	}
	return true
}

// reachable returns the ASes that a valley-free path from origin reaches:
// what Gao-Rexford's export rules let a route of origin get to.
func (g *relGraph) reachable(origin uint32) map[uint32]bool {
	// States: (AS, may still climb or cross a peer link).
	type st struct {
		as    uint32
		climb bool
	}
	seen := map[st]bool{{origin, true}: true}
	queue := []st{{origin, true}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range g.adj[s.as] {
			var next st
			switch {
			case g.provider[[2]uint32{n, s.as}] && s.climb: // up to a provider
				next = st{n, true}
			case g.peers[[2]uint32{s.as, n}] && s.climb:
				next = st{n, false}
			case g.provider[[2]uint32{s.as, n}]: // down to a customer
				next = st{n, false}
			default:
				continue
			}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	out := map[uint32]bool{}
	for s := range seen {
		out[s.as] = true
	}
	return out
}

func parsePath(s string) []uint32 {
	var out []uint32
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 10, 32)
		if err == nil {
			out = append(out, uint32(v))
		}
	}
	return out
}

// On generated labs where every link is a business relationship, every
// best path of every Loc-RIB is valley-free, and every AS that a
// valley-free path reaches from a prefix's origin has a route to it, and
// no other does (RFC 4271's decision process with Gao-Rexford's policy).
func TestRelationsValleyFree(t *testing.T) {
	for _, n := range []int{50, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if raceEnabled && n > 50 {
				t.Skip("200 speakers under the race detector take minutes: `make test` runs this without it")
			}
			y, err := topo.GenerateBAWith(n, 2, 1, topo.BAOptions{Relations: true})
			if err != nil {
				t.Fatal(err)
			}
			model, err := topo.Parse("ba.yaml", y)
			if err != nil {
				t.Fatal(err)
			}
			checkValleyFree(t, model, "")
		})
	}
}

// checkValleyFree runs model's lab and checks its routing against
// Gao-Rexford's theory; leaker, when not "", is a router whose AS leaks:
// paths through it need not be valley-free there.
func checkValleyFree(t *testing.T, model *topo.Lab, leaker string) map[string]map[netip.Prefix][]uint32 {
	t.Helper()
	g := newRelGraph(model)
	l := newPipeLab(t, model)
	l.converge(time.Duration(len(model.Routers)) * time.Second)
	best := map[string]map[netip.Prefix][]uint32{}
	for _, r := range model.Routers {
		snap, err := l.speakers[r.Name].Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		best[r.Name] = map[netip.Prefix][]uint32{}
		for _, tb := range snap.Tables {
			for _, rt := range tb.Routes {
				p := rt.Best()
				if p == nil || p.Local {
					continue
				}
				path := append([]uint32{r.AS.Number}, parsePath(p.ASPath)...)
				best[r.Name][rt.Prefix] = path
				if leaker == "" && !g.valleyFree(path) {
					t.Errorf("%s: best path to %v is %v: not valley-free", r.Name, rt.Prefix, path)
				}
			}
		}
	}
	if leaker != "" {
		return best
	}
	for pfx, origin := range g.prefix {
		reach := g.reachable(origin)
		for _, r := range model.Routers {
			as := r.AS.Number
			if as == origin {
				continue
			}
			_, has := best[r.Name][pfx]
			if has != reach[as] {
				t.Errorf("%s (AS %d): route to %v (from AS %d): %v, theory says %v", r.Name, as, pfx, origin, has, reach[as])
			}
		}
	}
	return best
}

// A route leak (`leak: true` on one end): the leaker passes what it
// learns from one provider to another, which prefers that customer route
// (local-pref 200) to what it had from its own providers (100). Every
// path that is not valley-free crosses the leaker between two of its
// providers, in that order, and the provider it leaks to now uses such a
// path.
func TestRelationsLeak(t *testing.T) {
	y, err := topo.GenerateBAWith(50, 2, 1, topo.BAOptions{Relations: true})
	if err != nil {
		t.Fatal(err)
	}
	// r50 joined last: its two links go to its two providers. It leaks
	// towards the second.
	var provs []string
	for _, line := range strings.Split(string(y), "\n") {
		if strings.Contains(line, ", r50], relation") {
			provs = append(provs, strings.TrimPrefix(strings.Fields(line)[2], "["))
		}
	}
	if len(provs) != 2 {
		t.Fatalf("r50's providers: %v", provs)
	}
	p1, p2 := strings.TrimSuffix(provs[0], ","), strings.TrimSuffix(provs[1], ",")
	leak := fmt.Sprintf("  - {endpoints: [%s, r50], relation: provider-customer, bgp: {r50: {leak: true}}}", p2)
	y = []byte(strings.Replace(string(y), fmt.Sprintf("  - {endpoints: [%s, r50], relation: provider-customer}", p2), leak, 1))
	model, err := topo.Parse("leak.yaml", y)
	if err != nil {
		t.Fatal(err)
	}
	g := newRelGraph(model)
	leaker, up1, up2 := g.asOf["r50"], g.asOf[p1], g.asOf[p2]
	best := checkValleyFree(t, model, "r50")
	leaked := 0
	for r, routes := range best {
		for pfx, path := range routes {
			if g.valleyFree(path) {
				continue
			}
			// The valley is at the leaker: ... p2 r50 p1 ... (receiver
			// first).
			i := slices.Index(path, leaker)
			if i <= 0 || i == len(path)-1 || path[i-1] != up2 || path[i+1] != up1 {
				t.Errorf("%s: best path to %v is %v: not valley-free, and not through the leak %d %d %d", r, pfx, path, up2, leaker, up1)
				continue
			}
			if r == p2 {
				leaked++
			}
		}
	}
	if leaked == 0 {
		t.Errorf("%s, the provider r50 leaks to, uses no leaked route", p2)
	}
}
