package speakerconf

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"lab/speaker"
	"lab/speaker/peer"
	"lab/speaker/policy"
	"lab/speaker/rib"
	"lab/topo"
)

// policies gathers the routing policy of one router: the named policies
// its link ends use, with the lists they match on, and the relation
// policies of its links, compiled once for the router (so that `show
// routing policy` counts the router's own hits).
type policies struct {
	lab   *topo.Lab
	as    uint32
	cfg   policy.Config
	named map[string]bool // topology policies already converted
	wants []want          // per peer, in order
}

// want is the import and export policies of one peer, by name, in the
// order they run.
type want struct{ in, out []string }

// peer notes the policies of the session end local (e, nil for a loopback
// session) of the peer pc.
func (ps *policies) peer(pc *speaker.PeerConfig, s *topo.Session, e *topo.EndBGP) error {
	var w want
	if pc.Role != speaker.RoleNone {
		prefs := policy.RelationPrefs{Customer: ps.lab.RelationLocalPref.Customer, Peer: ps.lab.RelationLocalPref.Peer,
			Provider: ps.lab.RelationLocalPref.Provider}
		rc, in, out, err := policy.RelationPolicies(ps.as, policy.Role(pc.Role), prefs, e != nil && e.Leak)
		if err != nil {
			return err
		}
		if err := ps.cfg.Add(rc); err != nil {
			return err
		}
		w.in, w.out = append(w.in, in), append(w.out, out)
	}
	if e != nil && e.PolicyIn != nil {
		ps.use(e.PolicyIn)
		w.in = append(w.in, e.PolicyIn.Name)
	}
	if e != nil && e.PolicyOut != nil {
		ps.use(e.PolicyOut)
		w.out = append(w.out, e.PolicyOut.Name)
	}
	ps.wants = append(ps.wants, w)
	return nil
}

// use converts a topology policy, and the lists it uses, once.
func (ps *policies) use(p *topo.Policy) {
	if ps.named == nil {
		ps.named = make(map[string]bool)
	}
	if ps.named["policy "+p.Name] {
		return
	}
	ps.named["policy "+p.Name] = true
	out := policy.Policy{Name: p.Name}
	for _, e := range p.Entries {
		pe := policy.Entry{Action: action(e.Deny), Match: policy.Match{NeighborAS: e.Match.NeighborAS}}
		if l := e.Match.Prefix; l != nil {
			ps.prefixList(l)
			pe.Match.PrefixList = l.Name
		}
		if l := e.Match.ASPath; l != nil {
			ps.asPathList(l)
			pe.Match.ASPathList = l.Name
		}
		if l := e.Match.Community; l != nil {
			ps.communityList(l)
			pe.Match.CommunityList = l.Name
		}
		if o := e.Match.Origin; o != nil {
			v := rib.Origin(*o)
			pe.Match.Origin = &v
		}
		st := &e.Set
		pe.Set = policy.Set{LocalPref: st.LocalPref, MED: st.MED, Weight: st.Weight,
			Prepend: policy.Prepend{Count: st.Prepend.Count, ASNs: st.Prepend.ASNs}}
		if o := st.Origin; o != nil {
			v := rib.Origin(*o)
			pe.Set.Origin = &v
		}
		c := st.Community
		pe.Set.Community = policy.CommunitySet{Add: c.Add, Delete: c.Delete}
		if c.Replace {
			pe.Set.Community.Set = append([]uint32{}, c.Set...)
		}
		if c.DeleteList != nil {
			ps.communityList(c.DeleteList)
			pe.Set.Community.DeleteList = c.DeleteList.Name
		}
		lc := st.LargeCommunity
		pe.Set.LargeCommunity = policy.LargeCommunitySet{Add: larges(lc.Add), Delete: larges(lc.Delete)}
		if lc.Replace {
			pe.Set.LargeCommunity.Set = append([]rib.LargeCommunity{}, larges(lc.Set)...)
		}
		if lc.DeleteList != nil {
			ps.communityList(lc.DeleteList)
			pe.Set.LargeCommunity.DeleteList = lc.DeleteList.Name
		}
		out.Entries = append(out.Entries, pe)
	}
	ps.cfg.Policies = append(ps.cfg.Policies, out)
}

func (ps *policies) prefixList(l *topo.PrefixList) {
	if ps.named["prefix "+l.Name] {
		return
	}
	ps.named["prefix "+l.Name] = true
	out := policy.PrefixList{Name: l.Name}
	for _, e := range l.Entries {
		out.Entries = append(out.Entries, policy.PrefixEntry{Prefix: e.Prefix, Min: e.Min, Max: e.Max, Action: action(e.Deny)})
	}
	ps.cfg.PrefixLists = append(ps.cfg.PrefixLists, out)
}

func (ps *policies) asPathList(l *topo.ASPathList) {
	if ps.named["aspath "+l.Name] {
		return
	}
	ps.named["aspath "+l.Name] = true
	out := policy.ASPathList{Name: l.Name}
	for _, e := range l.Entries {
		out.Entries = append(out.Entries, policy.ASPathEntry{Regex: e.Path, Action: action(e.Deny)})
	}
	ps.cfg.ASPathLists = append(ps.cfg.ASPathLists, out)
}

func (ps *policies) communityList(l *topo.CommunityList) {
	if ps.named["community "+l.Name] {
		return
	}
	ps.named["community "+l.Name] = true
	out := policy.CommunityList{Name: l.Name}
	for _, e := range l.Entries {
		out.Entries = append(out.Entries, policy.CommunityEntry{Community: e.Community, IsLarge: e.IsLarge,
			Large: rib.LargeCommunity{Global: e.Large[0], Local1: e.Large[1], Local2: e.Large[2]}, Action: action(e.Deny)})
	}
	ps.cfg.CommunityLists = append(ps.cfg.CommunityLists, out)
}

func action(deny bool) policy.Action {
	if deny {
		return policy.Deny
	}
	return policy.Permit
}

func larges(ls [][3]uint32) []rib.LargeCommunity {
	var out []rib.LargeCommunity
	for _, l := range ls {
		out = append(out, rib.LargeCommunity{Global: l[0], Local1: l[1], Local2: l[2]})
	}
	return out
}

// compile compiles the router's policies and gives each peer its import
// and export policies.
func (ps *policies) compile(cfg *speaker.Config) error {
	if len(ps.cfg.Policies) == 0 {
		return nil // no policy: nothing to compile, nothing to show
	}
	compiled, err := policy.Compile(ps.cfg)
	if err != nil {
		return err
	}
	cfg.Policies = compiled
	maps := make(map[string]peer.Policy)
	get := func(name string) (peer.Policy, error) {
		if m, ok := maps[name]; ok {
			return m, nil
		}
		rm, ok := compiled.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("no policy %q", name)
		}
		m := routeMap{m: rm, as: ps.as, fp: fingerprint(&ps.cfg, name)}
		maps[name] = m
		return m, nil
	}
	for i, w := range ps.wants {
		pc := &cfg.Peers[i]
		for _, n := range w.in {
			m, err := get(n)
			if err != nil {
				return err
			}
			pc.Import = append(pc.Import, m)
		}
		for _, n := range w.out {
			m, err := get(n)
			if err != nil {
				return err
			}
			pc.Export = append(pc.Export, m)
		}
	}
	return nil
}

// routeMap is a compiled policy as the speaker runs it (peer.Policy).
type routeMap struct {
	m  *policy.RouteMap
	as uint32
	fp string
}

func (r routeMap) Name() string        { return r.m.Name() }
func (r routeMap) Fingerprint() string { return r.fp }

func (r routeMap) Apply(pfx netip.Prefix, a *rib.Attrs, neighborAS uint32) (*rib.Attrs, bool, int) {
	out, ok, entry := r.m.Apply(policy.Route{Prefix: pfx, Attrs: a, PeerAS: neighborAS, LocalAS: r.as})
	return out, ok, entry + 1 // policy counts from 0, NoEntry is -1
}

// fingerprint renders the policy called name and every list it uses (as
// JSON: pointers are followed, not printed as addresses).
func fingerprint(c *policy.Config, name string) string {
	var parts []any
	for _, p := range c.Policies {
		if p.Name != name {
			continue
		}
		parts = append(parts, p)
		for _, e := range p.Entries {
			for _, l := range c.PrefixLists {
				if l.Name == e.Match.PrefixList {
					parts = append(parts, l)
				}
			}
			for _, l := range c.ASPathLists {
				if l.Name == e.Match.ASPathList {
					parts = append(parts, l)
				}
			}
			for _, l := range c.CommunityLists {
				if l.Name == e.Match.CommunityList || l.Name == e.Set.Community.DeleteList || l.Name == e.Set.LargeCommunity.DeleteList {
					parts = append(parts, l)
				}
			}
		}
	}
	b, err := json.Marshal(parts)
	if err != nil {
		return fmt.Sprint(err) // plain data: never
	}
	return string(b)
}
