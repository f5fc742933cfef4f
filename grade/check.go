// Package grade holds the lab's tests at work: the typed checks of a
// `validate:` section (lab/topo's Test and Check) evaluated against a
// running lab, retried until they pass or their time is up, a test run's
// report (text, JSON, JUnit), and the summary of a class's submissions
// graded in one batch.
//
// A check reads the routers through the JSON of their show commands in
// FRR 8.4's shape (ParseTable, ParseRoute, ParseNeighbors, ...), which the
// lab's own routers answer too: a check means the same on both. The
// daemon evaluates them (`check ...` in the shell, lab/cli/commands),
// where it can wake a retry on the speakers' events; `lab test` runs the
// tests and their steps through the shell.
package grade

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"lab/cli/grammar"
	"lab/topo"
)

// Lab is a running lab as checks see it. Its methods may be called from
// several goroutines.
type Lab interface {
	// Model is the lab's topology.
	Model() *topo.Lab
	// Show runs a router's show command (`show bgp ipv4 10.1.0.0/24`,
	// without `json`) and returns its JSON in FRR's shape. `show ip
	// route` and `show ipv6 route` work on every node.
	Show(ctx context.Context, node, command string) ([]byte, error)
	// Ping sends one ICMP echo from node to addr and returns nil when it
	// is answered within timeout.
	Ping(ctx context.Context, node string, to netip.Addr, timeout time.Duration) error
	// Traceroute returns the hops from node to addr, in order (the zero
	// Addr for a hop that did not answer); the last is addr when it was
	// reached.
	Traceroute(ctx context.Context, node string, to netip.Addr) ([]netip.Addr, error)
	// Changes returns a channel that receives after the lab's BGP state
	// changed (a session, a routing decision), and a function that ends
	// the subscription; a nil channel when the lab cannot tell (checks
	// then poll).
	Changes() (<-chan struct{}, func())
	// State returns a fingerprint of the lab's routing state (what
	// changes when a session, a table or a kernel route does) and whether
	// that state is settled: no session half open, every established
	// one has exchanged its table, nothing in flight, every decision in
	// the kernel. A lab that cannot tell says settled, with no
	// fingerprint.
	State(ctx context.Context) (fingerprint string, settled bool)
}

// Result is a check's outcome on one node.
type Result struct {
	Node string `json:"node"`
	// Check is the check as a shell line (`check as1ra prefix ...`).
	Check  string `json:"check"`
	Passed bool   `json:"passed"`
	// Seen is what the check found: why it failed, or what passed.
	Seen    string  `json:"seen,omitempty"`
	Seconds float64 `json:"seconds"`
	// Tries counts the evaluations.
	Tries int `json:"tries"`
}

// Polling intervals, when no event wakes a retry: a BGP check wakes on
// the speakers' events and polls as a safeguard; a kernel or data-plane
// check (routes are written after the decision, pings answer or not)
// polls more often.
const (
	pollBGP    = 500 * time.Millisecond
	pollKernel = 100 * time.Millisecond
	// pingTimeout is the longest one echo is waited for.
	pingTimeout = time.Second
)

// settleGap is how long the lab's state must stay the same around a
// passing evaluation.
const settleGap = 20 * time.Millisecond

// Run evaluates check c on node until it passes or deadline passes
// (once when deadline is past already), and returns the last outcome.
// Retries wake on the lab's changes, else poll.
//
// A check passes only on a settled lab, whose state was the same before
// the evaluation and settleGap after it: while BGP converges, the first
// path received is the best one for a moment, and a prefix is missing
// until it arrives; such a moment is no answer. When the wait runs out
// on a lab that never settles, the last evaluation stands.
func Run(ctx context.Context, lab Lab, node string, c *topo.Check, deadline time.Time) Result {
	start := time.Now()
	res := Result{Node: node, Check: Line(node, c, 0)}
	changes, stop := lab.Changes()
	defer stop()
	poll := pollKernel
	if c.OnRouter() {
		poll = pollBGP
	}
	for {
		if changes != nil {
			// What happened before this evaluation is seen by it.
			select {
			case <-changes:
			default:
			}
		}
		before, settled := lab.State(ctx)
		ok, seen, err := Evaluate(ctx, lab, node, c, deadline)
		res.Tries++
		res.Passed, res.Seen = ok && err == nil, seen
		if err != nil {
			res.Seen = err.Error()
		}
		if res.Passed && time.Until(deadline) > settleGap && !stable(ctx, lab, before, settled) {
			// A passing moment of a lab still moving: look again.
			res.Passed = false
			res.Seen += " (the lab has not settled: checking again)"
		}
		left := time.Until(deadline)
		if res.Passed || left <= 0 || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(min(poll, left))
		select {
		case <-changes:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	res.Seconds = time.Since(start).Seconds()
	return res
}

// stable reports whether the lab was settled before an evaluation and
// still is, in the same state, settleGap later.
func stable(ctx context.Context, lab Lab, before string, settled bool) bool {
	if !settled {
		return false
	}
	t := time.NewTimer(settleGap)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return false
	}
	after, settled := lab.State(ctx)
	return settled && after == before
}

// Evaluate evaluates c on node once: whether it passes, and what was
// seen (the reason it failed, or what matched). err is a check that could
// not run (the lab did not answer).
func Evaluate(ctx context.Context, lab Lab, node string, c *topo.Check, deadline time.Time) (bool, string, error) {
	m := lab.Model()
	n := m.Node(node)
	if n == nil {
		return false, "", fmt.Errorf("no node %q in the lab", node)
	}
	if c.OnRouter() && n.Router() == nil {
		return false, "", fmt.Errorf("%s is a host: a %s check reads a router's BGP state", node, c.Kind())
	}
	switch {
	case c.Session != nil:
		return evalSession(ctx, lab, n.Router(), c.Session)
	case c.Prefix != nil:
		return evalPrefix(ctx, lab, node, c.Prefix)
	case c.Route != nil:
		return evalRoute(ctx, lab, node, c.Route)
	case c.Ping != nil:
		return evalPing(ctx, lab, n, c.Ping, deadline)
	case c.Path != nil:
		return evalPath(ctx, lab, n, c.Path)
	case c.Notification != nil:
		return evalNotification(ctx, lab, n.Router(), c.Notification)
	case c.Log != nil:
		return evalLog(ctx, lab, node, c.Log)
	}
	return false, "", errors.New("an empty check")
}

// sessionAddrs are the remote addresses of r's sessions with t (of
// family fam, unless 0), in the model's order.
func sessionAddrs(m *topo.Lab, r *topo.Router, t topo.Target, fam topo.Family) []netip.Addr {
	if t.Addr.IsValid() {
		return []netip.Addr{t.Addr}
	}
	var out []netip.Addr
	for _, s := range m.Sessions {
		_, remote, ok := s.End(r)
		if ok && remote.Router.Name == t.Node && (fam == 0 || s.Family == fam) {
			out = append(out, remote.Addr)
		}
	}
	return out
}

// neighbor asks node for its neighbour a.
func neighbor(ctx context.Context, lab Lab, node string, a netip.Addr) (*Neighbor, error) {
	b, err := lab.Show(ctx, node, "show bgp neighbors "+a.String())
	if err != nil {
		return nil, err
	}
	ns, err := ParseNeighbors(b)
	if err != nil {
		return nil, err
	}
	for i := range ns {
		if ns[i].Addr == a {
			return &ns[i], nil
		}
	}
	return nil, fmt.Errorf("%s has no neighbor %s", node, a)
}

// stateIs reports whether FRR's state word (Established, Idle (Admin),
// OpenSent) is the check's (established, down, opensent).
func stateIs(frr, want string) bool {
	w := strings.ToLower(strings.Fields(frr + " ")[0])
	if want == "down" {
		return w != "established"
	}
	return w == want
}

func evalSession(ctx context.Context, lab Lab, r *topo.Router, c *topo.SessionCheck) (bool, string, error) {
	addrs := sessionAddrs(lab.Model(), r, c.Neighbor, c.Family)
	if len(addrs) == 0 {
		return false, fmt.Sprintf("%s has no BGP session with %s", r.Name, c.Neighbor), nil
	}
	ok := true
	var seen []string
	for _, a := range addrs {
		n, err := neighbor(ctx, lab, r.Name, a)
		if err != nil {
			return false, "", err
		}
		st := n.State
		if !stateIs(st, c.State) {
			ok = false
			if n.Notification != nil {
				st += ", last reset: " + n.LastResetDueTo + " " + n.Notification.String()
			} else if n.LastResetDueTo != "" {
				st += ", last reset: " + n.LastResetDueTo
			}
		}
		seen = append(seen, fmt.Sprintf("%s: %s", a, st))
	}
	return ok, fmt.Sprintf("%s's session with %s: %s", r.Name, c.Neighbor, strings.Join(seen, "; ")), nil
}

// family returns the address family of a prefix, as show commands name it.
func familyWord(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func evalPrefix(ctx context.Context, lab Lab, node string, c *topo.PrefixCheck) (bool, string, error) {
	b, err := lab.Show(ctx, node, fmt.Sprintf("show bgp %s %s", familyWord(c.Prefix.Addr()), c.Prefix))
	if err != nil {
		return false, "", err
	}
	rt, err := ParseRoute(b)
	if err != nil {
		return false, "", err
	}
	m := lab.Model()
	var re *regexp.Regexp
	if c.ASPath != nil && c.ASPath.Regex != "" {
		if re, err = topo.ASPathRegexp(c.ASPath.Regex); err != nil {
			return false, "", err
		}
	}
	matched := -1
	for i := range rt.Paths {
		if pathMatches(m, &rt.Paths[i], c, re) {
			matched = i
			break
		}
	}
	desc := describeRoute(m, node, c.Prefix, rt)
	if c.Missing {
		if matched >= 0 {
			return false, fmt.Sprintf("%s: %s; this one should not be there: %s", node, desc, describePath(m, &rt.Paths[matched])), nil
		}
		return true, fmt.Sprintf("%s: %s", node, desc), nil
	}
	if matched < 0 {
		return false, fmt.Sprintf("%s: %s", node, desc), nil
	}
	return true, fmt.Sprintf("%s: %s", node, describePath(m, &rt.Paths[matched])), nil
}

// pathMatches reports whether p has every attribute c asks for.
func pathMatches(m *topo.Lab, p *Path, c *topo.PrefixCheck, re *regexp.Regexp) bool {
	if c.Best && !p.Best {
		return false
	}
	if c.NextHop != nil && !slices.ContainsFunc(p.NextHops, func(a netip.Addr) bool { return targetHas(m, *c.NextHop, a) }) {
		return false
	}
	if c.Peer != nil && (!p.Peer.IsValid() || !targetHas(m, *c.Peer, p.Peer)) {
		return false
	}
	if c.LocalPref != nil && (p.LocalPref == nil || *p.LocalPref != *c.LocalPref) {
		return false
	}
	if c.MED != nil && (p.MED == nil || *p.MED != *c.MED) {
		return false
	}
	if c.ASPath != nil {
		if re != nil {
			if !re.MatchString(p.ASPath) {
				return false
			}
		} else if !slices.Equal(asns(p.ASPath), c.ASPath.ASNs) {
			return false
		}
	}
	if c.Origin != "" && !strings.EqualFold(p.Origin, c.Origin) {
		return false
	}
	for _, want := range c.Communities {
		if !slices.ContainsFunc(p.Communities, func(s string) bool { v, ok := community(s); return ok && v == want }) {
			return false
		}
	}
	for _, want := range c.LargeCommunities {
		if !slices.ContainsFunc(p.LargeCommunities, func(s string) bool {
			v, err := grammar.ParseLargeCommunity(s)
			return err == nil && v == want
		}) {
			return false
		}
	}
	return true
}

// frrCommunityNames are FRR's spellings of the well-known communities
// that are not the shell's.
var frrCommunityNames = map[string]uint32{
	"local-AS":         0xFFFFFF03,
	"noExport":         0xFFFFFF01,
	"noAdvertise":      0xFFFFFF02,
	"localAs":          0xFFFFFF03,
	"noPeer":           0xFFFFFF04,
	"gracefulShutdown": 0xFFFF0000,
}

func community(s string) (uint32, bool) {
	if v, ok := frrCommunityNames[s]; ok {
		return v, true
	}
	v, err := grammar.ParseCommunity(s)
	return v, err == nil
}

// asns reads the ASNs of a path as FRR prints it, sets flattened.
func asns(path string) []uint32 {
	out := []uint32{}
	for _, w := range strings.FieldsFunc(path, func(r rune) bool { return strings.ContainsRune(" {},()[]", r) }) {
		if v, ok := topo.ParseASNs(w); ok {
			out = append(out, v...)
		}
	}
	return out
}

// targetHas reports whether address a is the target's: the address
// itself, or one of the node's (its interfaces', its loopbacks').
func targetHas(m *topo.Lab, t topo.Target, a netip.Addr) bool {
	switch {
	case t.Addr.IsValid():
		return t.Addr == a
	case t.Node != "":
		return nodeOf(m, a) == t.Node
	}
	return false
}

// nodeOf returns the node an address belongs to, or "".
func nodeOf(m *topo.Lab, a netip.Addr) string {
	for _, n := range m.Nodes() {
		if slices.Contains(n.Addrs(), a) {
			return n.Name
		}
		if r := n.Router(); r != nil && slices.Contains(r.Loopbacks, a) {
			return n.Name
		}
	}
	return ""
}

// named renders an address with its node: "2001:12::b (as2rb)".
func named(m *topo.Lab, a netip.Addr) string {
	if n := nodeOf(m, a); n != "" {
		return fmt.Sprintf("%s (%s)", a, n)
	}
	return a.String()
}

func describeRoute(m *topo.Lab, node string, pfx netip.Prefix, rt *Route) string {
	switch len(rt.Paths) {
	case 0:
		return fmt.Sprintf("no path to %s in the BGP table", pfx)
	case 1:
		return fmt.Sprintf("1 path to %s: %s", pfx, describePath(m, &rt.Paths[0]))
	}
	// The best path first, then the others in the router's order: that
	// order follows arrival, which a report must not depend on.
	var ps []string
	if b := rt.Best(); b != nil {
		ps = append(ps, describePath(m, b))
	}
	for i := range rt.Paths {
		if !rt.Paths[i].Best {
			ps = append(ps, describePath(m, &rt.Paths[i]))
		}
	}
	return fmt.Sprintf("%d paths to %s: %s", len(rt.Paths), pfx, strings.Join(ps, "; "))
}

// describePath renders a path in a line: its status, next hop, AS path
// and attributes, as a student reads them.
func describePath(m *topo.Lab, p *Path) string {
	var b strings.Builder
	switch {
	case p.Best:
		b.WriteString("best")
		if p.Reason != "" {
			fmt.Fprintf(&b, " (%s)", p.Reason)
		}
	case p.Valid:
		b.WriteString("valid")
	default:
		b.WriteString("invalid (next hop unreachable)")
	}
	switch {
	case p.Local:
		b.WriteString(", local")
	case len(p.NextHops) > 0:
		fmt.Fprintf(&b, ", via %s", named(m, p.NextHops[0]))
	}
	if p.ASPath != "" {
		fmt.Fprintf(&b, ", aspath %s", p.ASPath)
	} else {
		b.WriteString(", aspath empty")
	}
	if p.LocalPref != nil {
		fmt.Fprintf(&b, ", local-pref %d", *p.LocalPref)
	}
	if p.MED != nil {
		fmt.Fprintf(&b, ", med %d", *p.MED)
	}
	if p.Origin != "" && p.Origin != "IGP" {
		fmt.Fprintf(&b, ", origin %s", strings.ToLower(p.Origin))
	}
	if len(p.Communities) > 0 {
		fmt.Fprintf(&b, ", community %s", strings.Join(p.Communities, " "))
	}
	if len(p.LargeCommunities) > 0 {
		fmt.Fprintf(&b, ", large-community %s", strings.Join(p.LargeCommunities, " "))
	}
	if !p.Local && p.Peer.IsValid() && (len(p.NextHops) == 0 || p.NextHops[0] != p.Peer) {
		fmt.Fprintf(&b, ", from %s", named(m, p.Peer))
	}
	return b.String()
}

func evalRoute(ctx context.Context, lab Lab, node string, c *topo.RouteCheck) (bool, string, error) {
	cmd := "show ip route"
	if c.Prefix.Addr().Is6() {
		cmd = "show ipv6 route"
	}
	b, err := lab.Show(ctx, node, cmd)
	if err != nil {
		return false, "", err
	}
	rs, err := ParseKernelRoutes(b)
	if err != nil {
		return false, "", err
	}
	m := lab.Model()
	var found []string
	matched := ""
	for _, r := range rs {
		if r.Prefix != c.Prefix {
			continue
		}
		d := describeKernelRoute(m, r)
		found = append(found, d)
		if matched == "" && routeVia(m, r, c.Via) {
			matched = d
		}
	}
	seen := fmt.Sprintf("%s: no route to %s in the kernel", node, c.Prefix)
	if len(found) > 0 {
		seen = fmt.Sprintf("%s: %s", node, strings.Join(found, "; "))
	}
	if c.Missing {
		if matched != "" {
			return false, seen, nil
		}
		return true, seen, nil
	}
	return matched != "", seen, nil
}

func routeVia(m *topo.Lab, r KernelRoute, via *topo.Target) bool {
	if via == nil {
		return true
	}
	if via.Iface != "" {
		return slices.Contains(r.Devs, via.Iface)
	}
	if via.Node != "" {
		// Through one of the node's addresses, or out of the interface
		// that leads to it (a link-local next hop).
		for _, a := range r.Via {
			if nodeOf(m, a) == via.Node {
				return true
			}
		}
		for _, d := range r.Devs {
			if i := m.Interface(d); i != nil && i.Link != nil && i.Link.LAN == nil && i.Link.Other(i).Node.Name == via.Node {
				return true
			}
		}
		return false
	}
	return slices.Contains(r.Via, via.Addr)
}

func describeKernelRoute(m *topo.Lab, r KernelRoute) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Protocol, r.Prefix)
	for _, v := range r.Via {
		fmt.Fprintf(&b, " via %s", named(m, v))
	}
	for _, d := range r.Devs {
		fmt.Fprintf(&b, " dev %s", d)
	}
	return b.String()
}

// destination returns the address of target t of family f that a ping or
// a traceroute goes to: the address itself, or the node's: a host's
// address, a router's LAN address (its LAN is announced; its links are
// not), else its first interface address.
func destination(m *topo.Lab, t topo.Target, f topo.Family) (netip.Addr, bool) {
	if t.Addr.IsValid() {
		return t.Addr, topo.FamilyOf(t.Addr) == f
	}
	n := m.Node(t.Node)
	if n == nil {
		return netip.Addr{}, false
	}
	if r := n.Router(); r != nil && r.LAN != nil {
		if p, ok := r.LAN.Iface.Addr(f); ok {
			return p.Addr(), true
		}
	}
	for _, a := range n.Addrs() {
		if topo.FamilyOf(a) == f {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// families are the families a ping or traceroute from n to t uses: the
// one asked for, else each that both ends have.
func families(m *topo.Lab, n *topo.Node, t topo.Target, f topo.Family) []topo.Family {
	var out []topo.Family
	for _, g := range []topo.Family{topo.IPv4, topo.IPv6} {
		if f != 0 && g != f {
			continue
		}
		_, dst := destination(m, t, g)
		src := slices.ContainsFunc(n.Addrs(), func(a netip.Addr) bool { return topo.FamilyOf(a) == g })
		if dst && src {
			out = append(out, g)
		}
	}
	return out
}

func evalPing(ctx context.Context, lab Lab, n *topo.Node, c *topo.PingCheck, deadline time.Time) (bool, string, error) {
	m := lab.Model()
	fams := families(m, n, c.To, c.Family)
	if len(fams) == 0 {
		return false, fmt.Sprintf("%s and %s have no address family in common", n.Name, c.To), nil
	}
	timeout := min(pingTimeout, max(time.Until(deadline), 200*time.Millisecond))
	ok := true
	var seen []string
	for _, f := range fams {
		dst, _ := destination(m, c.To, f)
		err := lab.Ping(ctx, n.Name, dst, timeout)
		if ctx.Err() != nil {
			return false, "", ctx.Err()
		}
		if err != nil {
			seen = append(seen, fmt.Sprintf("%s does not reach %s: %v", n.Name, named(m, dst), err))
		} else {
			seen = append(seen, fmt.Sprintf("%s reaches %s", n.Name, named(m, dst)))
		}
		if (err == nil) == c.Fail {
			ok = false
		}
	}
	return ok, strings.Join(seen, "; "), nil
}

func evalPath(ctx context.Context, lab Lab, n *topo.Node, c *topo.PathCheck) (bool, string, error) {
	m := lab.Model()
	to := topo.Target{Node: c.To}
	fams := families(m, n, to, c.Family)
	if len(fams) == 0 {
		return false, fmt.Sprintf("%s and %s have no address family in common", n.Name, c.To), nil
	}
	ok := true
	var seen []string
	for _, f := range fams {
		dst, _ := destination(m, to, f)
		hops, err := lab.Traceroute(ctx, n.Name, dst)
		if err != nil {
			return false, "", err
		}
		var names []string
		for _, h := range hops {
			switch name := nodeOf(m, h); {
			case !h.IsValid():
				names = append(names, "*")
			case name == "":
				names = append(names, h.String())
			default:
				names = append(names, name)
			}
		}
		reached := len(hops) > 0 && hops[len(hops)-1] == dst
		good := reached && subsequence(c.Via, names)
		path := n.Name + " " + strings.Join(names, " ")
		if !reached {
			path += " (does not reach " + named(m, dst) + ")"
		}
		seen = append(seen, fmt.Sprintf("%s: %s", f, path))
		ok = ok && good
	}
	return ok, strings.Join(seen, "; "), nil
}

// subsequence reports whether want's items appear in have, in order.
func subsequence(want, have []string) bool {
	i := 0
	for _, h := range have {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	return i == len(want)
}

func evalNotification(ctx context.Context, lab Lab, r *topo.Router, c *topo.NotificationCheck) (bool, string, error) {
	addrs := sessionAddrs(lab.Model(), r, c.Neighbor, 0)
	if len(addrs) == 0 {
		return false, fmt.Sprintf("%s has no BGP session with %s", r.Name, c.Neighbor), nil
	}
	var seen []string
	for _, a := range addrs {
		n, err := neighbor(ctx, lab, r.Name, a)
		if err != nil {
			return false, "", err
		}
		nt := n.Notification
		if nt == nil {
			why := "never went down"
			if n.LastResetDueTo != "" {
				why = "last went down without a NOTIFICATION (" + n.LastResetDueTo + ")"
			}
			seen = append(seen, fmt.Sprintf("%s: %s", a, why))
			continue
		}
		s := fmt.Sprintf("%s: last went down with %s", a, nt)
		if nt.Message != "" {
			s += fmt.Sprintf(" %q", nt.Message)
		}
		seen = append(seen, s)
		if (c.Dir == "" || (c.Dir == "received") == nt.Received) &&
			(c.Code < 0 || c.Code == nt.Code) && (c.Subcode < 0 || c.Subcode == nt.Subcode) {
			return true, fmt.Sprintf("%s's session with %s %s", r.Name, c.Neighbor, s), nil
		}
	}
	return false, fmt.Sprintf("%s's session with %s: %s", r.Name, c.Neighbor, strings.Join(seen, "; ")), nil
}

func evalLog(ctx context.Context, lab Lab, node string, c *topo.LogCheck) (bool, string, error) {
	re, err := regexp.Compile(c.Regex)
	if err != nil {
		return false, "", err
	}
	b, err := lab.Show(ctx, node, "show log")
	if err != nil {
		return false, "", err
	}
	lines, err := parseLog(b)
	if err != nil {
		return false, "", err
	}
	for _, l := range lines {
		if re.MatchString(l) {
			return true, fmt.Sprintf("%s: %s", node, l), nil
		}
	}
	return false, fmt.Sprintf("%s: no log line matches (%d lines)", node, len(lines)), nil
}
