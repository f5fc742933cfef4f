package grade

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"lab/cli/grammar"
	"lab/speaker/wire"
	"lab/topo"
)

// Line renders check c on node as the shell's `check` command, with `wait
// SECONDS` when wait is more than 0: the line a student can type to see
// what a test sees. FromArgs reads it back to the same check.
func Line(node string, c *topo.Check, wait time.Duration) string {
	w := []string{"check", node, c.Kind()}
	var tail []string // a trailing free-text part, after wait
	switch {
	case c.Session != nil:
		s := c.Session
		w = append(w, s.Neighbor.String())
		if s.State != "" && s.State != "established" {
			w = append(w, s.State)
		}
		w = appendFamily(w, s.Family)
	case c.Prefix != nil:
		p := c.Prefix
		w = append(w, p.Prefix.String())
		if p.Missing {
			w = append(w, "missing")
		}
		if p.Best {
			w = append(w, "best")
		}
		if p.NextHop != nil {
			w = append(w, "nexthop", p.NextHop.String())
		}
		if p.LocalPref != nil {
			w = append(w, "local-pref", strconv.FormatUint(uint64(*p.LocalPref), 10))
		}
		if p.MED != nil {
			w = append(w, "med", strconv.FormatUint(uint64(*p.MED), 10))
		}
		if a := p.ASPath; a != nil && a.Regex == "" {
			w = append(w, "aspath")
			if len(a.ASNs) == 0 {
				w = append(w, "[", "]")
			}
			for _, n := range a.ASNs {
				w = append(w, strconv.FormatUint(uint64(n), 10))
			}
		}
		if len(p.Communities) > 0 {
			w = append(w, "community")
			for _, c := range p.Communities {
				w = append(w, wire.Community(c).String())
			}
		}
		if len(p.LargeCommunities) > 0 {
			w = append(w, "large-community")
			for _, c := range p.LargeCommunities {
				w = append(w, fmt.Sprintf("%d:%d:%d", c[0], c[1], c[2]))
			}
		}
		if p.Origin != "" {
			w = append(w, "origin", p.Origin)
		}
		if p.Peer != nil {
			w = append(w, "peer", p.Peer.String())
		}
		if a := p.ASPath; a != nil && a.Regex != "" {
			tail = []string{"aspath-regex", a.Regex}
		}
	case c.Route != nil:
		r := c.Route
		w = append(w, r.Prefix.String())
		if r.Missing {
			w = append(w, "missing")
		}
		if r.Via != nil {
			w = append(w, "via", r.Via.String())
		}
	case c.Ping != nil:
		p := c.Ping
		w = append(w, p.To.String())
		w = appendFamily(w, p.Family)
		if p.Fail {
			w = append(w, "fail")
		}
	case c.Path != nil:
		p := c.Path
		w = append(w, p.To)
		w = appendFamily(w, p.Family)
		if len(p.Via) > 0 {
			w = append(append(w, "via"), p.Via...)
		}
	case c.Notification != nil:
		n := c.Notification
		w = append(w, n.Neighbor.String())
		if n.Dir != "" {
			code := strconv.Itoa(n.Code)
			if n.Subcode >= 0 {
				code += "/" + strconv.Itoa(n.Subcode)
			}
			w = append(w, n.Dir, code)
		}
	case c.Log != nil:
		tail = []string{c.Log.Regex}
	}
	if wait > 0 {
		w = append(w, "wait", strconv.FormatFloat(wait.Seconds(), 'f', -1, 64))
	}
	return strings.Join(append(w, tail...), " ")
}

func appendFamily(w []string, f topo.Family) []string {
	switch f {
	case topo.IPv4:
		return append(w, "ipv4")
	case topo.IPv6:
		return append(w, "ipv6")
	}
	return w
}

// FromArgs reads a `check` line the shell's grammar parsed (entry
// "check KIND"): the node, the check, and its wait (0 when none).
func FromArgs(entry string, a grammar.Args) (node string, c *topo.Check, wait time.Duration, err error) {
	kind, ok := strings.CutPrefix(entry, "check ")
	if !ok {
		return "", nil, 0, fmt.Errorf("%q is not a check", entry)
	}
	node = a.Text("node")
	if s, ok := a.Float("wait"); ok {
		wait = time.Duration(s * float64(time.Second))
	}
	target := func(name string) topo.Target {
		if ad := a.Addr(name); ad.IsValid() {
			return topo.Target{Addr: ad}
		}
		return topo.Target{Node: a.Text(name)}
	}
	optTarget := func(name string) *topo.Target {
		if !a.Has(name) {
			return nil
		}
		t := target(name)
		return &t
	}
	c = &topo.Check{}
	switch kind {
	case "session":
		c.Session = &topo.SessionCheck{Neighbor: target("neighbor"), State: "established", Family: family(a)}
		if a.Has("state") {
			c.Session.State = a.Text("state")
		}
	case "prefix":
		p := &topo.PrefixCheck{Prefix: a.Prefix("prefix"), Missing: a.Text("state") == "missing", Best: a.Has("best"),
			NextHop: optTarget("nexthop"), Peer: optTarget("peer"), Origin: a.Text("origin")}
		if v, ok := a.Uint32("local-pref"); ok {
			p.LocalPref = &v
		}
		if v, ok := a.Uint32("med"); ok {
			p.MED = &v
		}
		if a.Has("aspath-given") {
			p.ASPath = &topo.ASPathMatch{ASNs: []uint32{}}
			for _, v := range a.All("aspath") {
				p.ASPath.ASNs = append(p.ASPath.ASNs, v.V.(uint32))
			}
		}
		if a.Has("aspath-regex") {
			re := a.Text("aspath-regex")
			if _, err := topo.ASPathRegexp(re); err != nil {
				return "", nil, 0, fmt.Errorf("aspath-regex %q: %v", re, err)
			}
			p.ASPath = &topo.ASPathMatch{Regex: re}
		}
		for _, v := range a.All("community") {
			p.Communities = append(p.Communities, v.V.(uint32))
		}
		for _, v := range a.All("large-community") {
			p.LargeCommunities = append(p.LargeCommunities, v.V.([3]uint32))
		}
		c.Prefix = p
	case "route":
		r := &topo.RouteCheck{Prefix: a.Prefix("prefix"), Missing: a.Text("state") == "missing"}
		switch {
		case a.Has("via-iface"):
			r.Via = &topo.Target{Iface: a.Text("via-iface")}
		case a.Has("via"):
			r.Via = optTarget("via")
		}
		c.Route = r
	case "ping":
		c.Ping = &topo.PingCheck{To: target("to"), Family: family(a), Fail: a.Text("expect") == "fail"}
		if to := c.Ping.To.Addr; to.IsValid() && c.Ping.Family != 0 && topo.FamilyOf(to) != c.Ping.Family {
			return "", nil, 0, fmt.Errorf("%s is not an %s address", to, c.Ping.Family)
		}
	case "path":
		p := &topo.PathCheck{To: a.Text("to"), Family: family(a)}
		for _, v := range a.All("via") {
			p.Via = append(p.Via, v.Text)
		}
		if p.To == node {
			return "", nil, 0, fmt.Errorf("a path from %s to itself", node)
		}
		c.Path = p
	case "notification":
		n := &topo.NotificationCheck{Neighbor: target("neighbor"), Dir: a.Text("dir"), Code: -1, Subcode: -1}
		if n.Dir != "" {
			var ok bool
			if n.Code, n.Subcode, ok = topo.ParseNotificationCode(a.Text("code")); !ok {
				return "", nil, 0, fmt.Errorf("%q: expected CODE/SUBCODE (like 4/0 or 6/2) or CODE (like 6)", a.Text("code"))
			}
		}
		c.Notification = n
	case "log":
		c.Log = &topo.LogCheck{Regex: a.Text("regex")}
	default:
		return "", nil, 0, fmt.Errorf("no check %q", kind)
	}
	if c.Log != nil {
		if _, err := regexp.Compile(c.Log.Regex); err != nil {
			return "", nil, 0, fmt.Errorf("%q: %v", c.Log.Regex, err)
		}
	}
	return node, c, wait, nil
}

func family(a grammar.Args) topo.Family {
	switch a.Text("family") {
	case "ipv4":
		return topo.IPv4
	case "ipv6":
		return topo.IPv6
	}
	return 0
}
