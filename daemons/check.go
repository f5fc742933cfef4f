package daemons

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"

	"lab/topo"
)

// Check reports what the topology asks of its FRR and BIRD routers that
// their daemon cannot do, each problem at the place of the setting in the
// file (a topo.ErrorList of topo.ErrValue errors, with source lines, as
// topo.Load reports its own); nil when every router's configuration can
// be written. `lab validate` and `lab up` run it after topo.Load.
func Check(l *topo.Lab) error {
	var errs topo.ErrorList
	for _, r := range l.Routers {
		if r.Daemon != topo.DaemonNone {
			errs = append(errs, checkRouter(l, r, r.Daemon)...)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return withSource(l, errs)
}

// checkRouter returns what of router r's configuration daemon d cannot
// express.
func checkRouter(l *topo.Lab, r *topo.Router, d topo.Daemon) topo.ErrorList {
	var errs topo.ErrorList
	who := fmt.Sprintf("router %s (kind: %s)", r.Name, d)
	bad := func(p topo.Pos, format string, a ...any) {
		errs = append(errs, &topo.Error{Pos: p, Kind: topo.ErrValue,
			Msg: fmt.Sprintf(format, a...) + fmt.Sprintf(": %s has no %s form for it", who, d.Name())})
	}
	var pols []*topo.Policy
	use := func(p *topo.Policy) {
		if p != nil && !slices.Contains(pols, p) {
			pols = append(pols, p)
		}
	}
	ibgp := false
	for _, s := range l.Sessions {
		local, _, ok := s.End(r)
		if !ok {
			continue
		}
		ibgp = ibgp || s.IBGP()
		e := local.BGP
		if e == nil {
			continue
		}
		use(e.PolicyIn)
		use(e.PolicyOut)
		if d == topo.DaemonFRR && strings.ContainsFunc(e.Password, unicode.IsSpace) {
			bad(e.Pos, "a password with a space on the link's end of %s (vtysh takes it as one word)", r.Name)
		}
		if d != topo.DaemonBIRD {
			continue
		}
		if e.Weight != nil {
			bad(e.Pos, "weight %d on the link's end of %s", *e.Weight, r.Name)
		}
		if e.DefaultOriginate {
			bad(e.Pos, "default-originate on the link's end of %s", r.Name)
		}
		if e.Shutdown && e.ShutdownMessage != "" {
			bad(e.Pos, "a shutdown message on the link's end of %s (shutdown: true is fine)", r.Name)
		}
	}
	// The policies' own problems are reported once per policy, not once
	// per neighbour.
	for _, p := range pols {
		for i, e := range p.Entries {
			what := fmt.Sprintf("entry %d of policy %q", i+1, p.Name)
			if m := e.Match.Community; m != nil && d == topo.DaemonFRR && mixed(m) {
				bad(e.Pos, "%s matches community list %q, which holds both communities and large communities (FRR matches each kind with a list of its own: split the list in two entries)", what, m.Name)
			}
			if d != topo.DaemonBIRD {
				continue
			}
			if e.Match.ASPath != nil {
				bad(e.Pos, "%s matches AS-path list %q (BIRD has no AS-path regular expressions)", what, e.Match.ASPath.Name)
			}
			if e.Set.Weight != nil && !e.Deny {
				bad(e.Pos, "%s sets weight", what)
			}
		}
	}
	if d == topo.DaemonBIRD {
		for _, g := range r.Aggregates {
			bad(g.Pos, "aggregate %v of %s", g.Prefix, r.Name)
		}
		if ibgp {
			bad(r.KindPos, "iBGP: %s shares AS %d with other routers (BIRD routers of the lab run eBGP sessions only)", r.Name, r.AS.Number)
		}
	}
	return errs
}

// mixed reports whether l holds both RFC 1997 and large communities.
func mixed(l *topo.CommunityList) bool {
	var std, lg bool
	for _, e := range l.Entries {
		std = std || !e.IsLarge
		lg = lg || e.IsLarge
	}
	return std && lg
}

// withSource fills the errors' source lines from the lab's file, for
// topo.WriteErrors' carets, and sorts them by position.
func withSource(l *topo.Lab, errs topo.ErrorList) topo.ErrorList {
	lines := map[int]string{}
	if f, err := os.Open(l.File); err == nil {
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			lines[n] = sc.Text()
		}
		f.Close()
	}
	for _, e := range errs {
		if e.Pos.File == l.File {
			e.Source = lines[e.Pos.Line]
		}
	}
	slices.SortStableFunc(errs, func(a, b *topo.Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	// A link end's settings apply to both families' sessions: once each.
	seen := map[string]bool{}
	return slices.DeleteFunc(errs, func(e *topo.Error) bool {
		k := e.Error()
		dup := seen[k]
		seen[k] = true
		return dup
	})
}
