package shell

import (
	"net/netip"
	"path/filepath"
	"strings"

	"lab/control"
)

// substitute replaces node names in a node command's arguments by one of
// their addresses, as Mininet does (`h1 traceroute6 h4`). The first
// argument (the program) is never replaced.
//
// Which family: a program or option that names one (ping6, traceroute6,
// tracepath6, -6; ping4, -4) decides. Otherwise IPMininet's rule applies:
// the family the source node has, and of those the one that can replace
// the most names, IPv4 on a tie. IPMininet applies only the last rule, so
// its `h1 traceroute6 h4` fails on a dual-stack lab; ours does not.
func substitute(info *control.Info, src *control.NodeInfo, args []string) []string {
	if len(args) < 2 {
		return args
	}
	want4, want6 := familyHint(args)
	has4, has6 := nodeFamilies(src)
	if want4 || want6 {
		has4, has6 = has4 && want4, has6 && want6
	}
	v4 := map[string]netip.Addr{}
	v6 := map[string]netip.Addr{}
	for _, a := range args[1:] {
		n := info.Node(a)
		if n == nil {
			continue
		}
		if has4 {
			if ad, ok := firstAddr(n, true); ok {
				v4[a] = ad
			}
		}
		if has6 {
			if ad, ok := firstAddr(n, false); ok {
				v6[a] = ad
			}
		}
	}
	m := v4
	if len(v6) > len(v4) {
		m = v6
	}
	out := make([]string, len(args))
	out[0] = args[0]
	for i, a := range args[1:] {
		if ad, ok := m[a]; ok {
			out[i+1] = ad.String()
		} else {
			out[i+1] = a
		}
	}
	return out
}

// familyHint reports whether the command asks for IPv4 or IPv6 only.
func familyHint(args []string) (v4, v6 bool) {
	prog := filepath.Base(args[0])
	switch {
	case strings.HasSuffix(prog, "6"):
		return false, true
	case strings.HasSuffix(prog, "4"):
		return true, false
	}
	for _, a := range args[1:] {
		switch a {
		case "-6":
			return false, true
		case "-4":
			return true, false
		}
	}
	return false, false
}

func nodeFamilies(n *control.NodeInfo) (v4, v6 bool) {
	for _, i := range n.Interfaces {
		for _, p := range i.Addrs {
			if p.Addr().Is4() {
				v4 = true
			} else {
				v6 = true
			}
		}
	}
	return v4, v6
}

// firstAddr returns the node's first address of a family, in interface
// order (a host's only address; a router's eth0 address, as Mininet's
// default interface).
func firstAddr(n *control.NodeInfo, v4 bool) (netip.Addr, bool) {
	for _, i := range n.Interfaces {
		for _, p := range i.Addrs {
			if p.Addr().Is4() == v4 {
				return p.Addr(), true
			}
		}
	}
	return netip.Addr{}, false
}
