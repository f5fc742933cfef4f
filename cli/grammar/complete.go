package grammar

import (
	"slices"
	"strings"
)

// Suggestion is one completion Tab offers.
type Suggestion struct {
	Text        string
	Description string
}

// Programs are what Tab offers as a node command's program: what the
// seed's and Mininet's users run.
var Programs = []string{"ping", "ping6", "traceroute", "traceroute6", "ip", "tcpdump", "ss", "bash"}

// Complete returns what may come at the cursor, given the line's text
// before it: keywords first, in the table's order, then values (node and
// interface names, programs), keeping those that begin with the word
// being typed. A line that is wrong before that word gets nothing.
func (g *Grammar) Complete(lab *Lab, before string) []Suggestion {
	toks := tokenize(before)
	partial := ""
	if n := len(toks); n > 0 && toks[n-1].end == len(before) && toks[n-1].text != "[" && toks[n-1].text != "]" {
		partial = toks[n-1].text
		toks = toks[:n-1]
	}
	r := &run{g: g, lab: lab, line: before}
	states := []state{{node: g.start}}
	for _, tok := range toks {
		waiting, _ := r.closure(states)
		next, err := r.step(waiting, tok)
		if err != nil {
			return nil
		}
		states = next
	}
	waiting, _ := r.closure(states)
	var words, values []Suggestion
	seen := map[string]bool{}
	add := func(to *[]Suggestion, text, desc string) {
		if seen[text] || !strings.HasPrefix(text, partial) {
			return
		}
		seen[text] = true
		*to = append(*to, Suggestion{Text: text, Description: desc})
	}
	nodes := func(keep func(*LabNode) bool) {
		for i, n := range lab.Nodes() {
			if keep == nil || keep(&lab.Nodes()[i]) {
				add(&values, n.Name, n.Kind)
			}
		}
	}
	for _, s := range waiting {
		e := g.nodes[s.node].elem
		switch e.form {
		case fKeyword, fPunct:
			desc := ""
			if en := &g.entries[g.nodes[s.node].entry]; e == &en.Syntax[0] {
				desc = en.Help // a command's own word: say what it does
			}
			for _, w := range e.words {
				add(&words, w.Text, desc)
			}
		case fValue:
			switch e.kind {
			case Node:
				nodes(nil)
			case Router:
				nodes(func(n *LabNode) bool { return n.Speaker || n.Daemon })
			case Peer:
				if v, ok := s.b.lookup(e.near); ok && e.near != "" {
					for _, name := range lab.Neighbours(v.Text) {
						add(&values, name, lab.Node(name).Kind)
					}
				} else {
					nodes(nil)
				}
			case Iface:
				for _, n := range lab.Nodes() {
					for _, f := range n.Interfaces {
						add(&values, f.Name, "to "+f.Peer)
					}
				}
			}
		case fRest:
			started := bound(s.b, e.name)
			switch {
			case e.kind == Command && !started:
				for _, p := range Programs {
					add(&values, p, "")
				}
			case e.kind == Command:
				nodes(nil)
			case e.kind == Topic && !started:
				for _, t := range g.topics() {
					add(&values, t, "")
				}
			}
		}
	}
	return append(words, values...)
}

// topics are the words `help` explains: every command's first keyword
// (after its NODE or ROUTER), in the table's order.
func (g *Grammar) topics() []string {
	var out []string
	for i := range g.entries {
		e := &g.entries[i]
		for j := range e.Syntax {
			x := &e.Syntax[j]
			if x.form == fKeyword {
				if !slices.Contains(out, x.words[0].Text) {
					out = append(out, x.words[0].Text)
				}
				break
			}
			if j > 0 || x.form != fValue {
				break
			}
		}
	}
	return out
}

// Reserved returns the words a line may start with: a node may not be
// called so, or `NODE ...` and the command would read alike.
func (g *Grammar) Reserved() []string {
	r := &run{g: g}
	waiting, _ := r.closure([]state{{node: g.start}})
	var out []string
	for _, s := range waiting {
		e := g.nodes[s.node].elem
		if e.form != fKeyword {
			continue
		}
		for _, w := range e.words {
			for _, x := range append([]string{w.Text}, w.Aliases...) {
				if !slices.Contains(out, x) {
					out = append(out, x)
				}
			}
		}
	}
	return out
}
