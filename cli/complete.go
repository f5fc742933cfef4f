package cli

import (
	"sort"
	"strings"

	prompt "github.com/c-bata/go-prompt"
)

// showWords complete `ROUTER show ...`, in the order FRR users type them.
var showWords = [][]string{
	{"bgp", "ip", "ipv6", "log"},
	{"summary", "neighbors", "ipv4", "ipv6", "messages", "bgp", "route"},
	{"summary", "neighbors", "json"},
}

// programs complete `NODE ...`: what the seed and Mininet users run.
var programs = []string{"ping", "ping6", "traceroute", "traceroute6", "ip", "tcpdump", "ss", "bash"}

// complete is go-prompt's completer: commands and node names first, then
// interface or node names for `link`, programs or router verbs after a node.
func (s *Shell) complete(d prompt.Document) []prompt.Suggest {
	before := d.TextBeforeCursor()
	word := d.GetWordBeforeCursor()
	args := strings.Fields(before)
	if !strings.HasSuffix(before, " ") && len(args) > 0 {
		args = args[:len(args)-1] // the word being typed
	}
	var sugg []prompt.Suggest
	switch {
	case len(args) == 0:
		for _, c := range commands {
			if c.run != nil || c.Name == "help" || c.Name == "sh" || c.Name == "source" || c.Name == "exit" {
				sugg = append(sugg, prompt.Suggest{Text: c.Name, Description: c.Help})
			}
		}
		for _, n := range s.Info.Nodes {
			sugg = append(sugg, prompt.Suggest{Text: n.Name, Description: n.Kind})
		}
	case args[0] == "link":
		switch len(args) {
		case 1:
			for _, n := range s.Info.Nodes {
				sugg = append(sugg, prompt.Suggest{Text: n.Name, Description: n.Kind})
				for _, i := range n.Interfaces {
					sugg = append(sugg, prompt.Suggest{Text: i.Name, Description: "to " + i.Peer})
				}
			}
		case 2:
			if s.Info.Node(args[1]) != nil {
				for _, n := range s.neighbours(args[1]) {
					sugg = append(sugg, prompt.Suggest{Text: n})
				}
			} else {
				sugg = words("up", "down")
			}
		case 3:
			sugg = words("down", "up", "blackhole", "restore")
		}
	case args[0] == "help":
		for _, c := range commands {
			sugg = append(sugg, prompt.Suggest{Text: strings.TrimPrefix(c.Name, "ROUTER ")})
		}
	case s.Info.Node(args[0]) != nil:
		n := s.Info.Node(args[0])
		if len(args) == 1 {
			if n.Kind == "router" && !n.External {
				sugg = words("show", "clear", "announce", "withdraw")
			}
			sugg = append(sugg, words(programs...)...)
		} else if args[1] == "show" && len(args)-2 < len(showWords) {
			sugg = words(showWords[len(args)-2]...)
		} else {
			for _, o := range s.Info.Nodes {
				sugg = append(sugg, prompt.Suggest{Text: o.Name, Description: o.Kind})
			}
		}
	}
	return prompt.FilterHasPrefix(sugg, word, false)
}

// neighbours returns the nodes linked to node, sorted.
func (s *Shell) neighbours(node string) []string {
	n := s.Info.Node(node)
	set := map[string]bool{}
	for _, i := range n.Interfaces {
		for _, p := range strings.Split(i.Peer, ",") {
			if k := strings.LastIndex(p, "-eth"); k > 0 {
				set[p[:k]] = true
			}
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func words(ws ...string) []prompt.Suggest {
	out := make([]prompt.Suggest, len(ws))
	for i, w := range ws {
		out[i] = prompt.Suggest{Text: w}
	}
	return out
}
