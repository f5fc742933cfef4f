package grammar

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// Usage renders an entry's syntax as help shows it:
// `ROUTER clear [bgp] ADDR|* [soft]`.
func (e *Entry) Usage() string { return joinUsage(e.Syntax, " ") }

// Help renders `help`: every command with what it does, a group as one
// line. With words (`help show`, `help link`, `help show bgp sum`) it
// explains the commands those words begin, a whole group with its
// introduction.
func (g *Grammar) Help(words []string) string {
	var b strings.Builder
	if len(words) == 0 {
		b.WriteString("Commands (NODE is a node's name, ROUTER a router's):\n")
		tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
		done := map[string]bool{}
		for i := range g.entries {
			e := &g.entries[i]
			if e.Group == "" {
				fmt.Fprintf(tw, "  %s\t%s\n", e.Usage(), e.Help)
				continue
			}
			if !done[e.Group] {
				done[e.Group] = true
				fmt.Fprintf(tw, "  %s\t%s\n", g.groupUsage(e.Group), g.group(e.Group).Help)
			}
		}
		tw.Flush()
		return b.String()
	}
	matched := g.helpMatch(words)
	if len(matched) == 0 {
		return fmt.Sprintf("*** no command %q: try `help`\n", strings.Join(words, " "))
	}
	group := g.entries[matched[0]].Group
	for _, i := range matched {
		if g.entries[i].Group != group {
			group = ""
		}
	}
	var gr *Group
	if group != "" {
		gr = g.group(group)
		if len(matched) == len(g.groupEntries(group)) {
			fmt.Fprintf(&b, "usage: %s\n  %s\n", g.groupUsage(group), gr.Help)
			if gr.Intro != "" {
				b.WriteString(gr.Intro + "\n")
			}
		}
	}
	for _, i := range matched {
		e := &g.entries[i]
		fmt.Fprintf(&b, "usage: %s\n  %s\n", e.Usage(), e.Help)
	}
	if gr != nil && gr.Footer != "" {
		b.WriteString(gr.Footer + "\n")
	}
	return b.String()
}

// helpMatch returns the entries whose words begin with words, matched as
// keywords (a value by its label: `help NODE`); a leading NODE or ROUTER
// may be left out (`help show` for `ROUTER show ...`).
func (g *Grammar) helpMatch(words []string) []int {
	r := &run{g: g, line: strings.Join(words, " "), topic: true}
	var states []state
	for i, start := range g.nodes[g.start].next {
		states = append(states, state{node: start})
		if g.body[i] >= 0 {
			states = append(states, state{node: g.body[i]})
		}
	}
	for _, tok := range tokenize(r.line) {
		waiting, _ := r.closure(states)
		next, err := r.step(waiting, tok)
		if err != nil {
			return nil
		}
		states = next
	}
	waiting, ends := r.closure(states)
	var out []int
	for _, s := range append(waiting, ends...) {
		if i := g.nodes[s.node].entry; !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out) // the table's order
	return out
}

func (g *Grammar) group(name string) *Group {
	for i := range g.groups {
		if g.groups[i].Name == name {
			return &g.groups[i]
		}
	}
	return &Group{Name: name}
}

func (g *Grammar) groupEntries(name string) []int {
	var out []int
	for i := range g.entries {
		if g.entries[i].Group == name {
			out = append(out, i)
		}
	}
	return out
}

// groupUsage is a group's line in `help`: its first entry's words up to
// its first keyword, then `...` (`ROUTER show ...`).
func (g *Grammar) groupUsage(name string) string {
	es := g.groupEntries(name)
	if len(es) == 0 {
		return name
	}
	var parts []string
	for _, x := range flatten(g.entries[es[0]].Syntax) {
		parts = append(parts, x.usage())
		if x.form == fKeyword {
			break
		}
	}
	return strings.Join(parts, " ") + " ..."
}

// flatten lists elements with their sequences opened.
func flatten(es []Elem) []*Elem {
	var out []*Elem
	for i := range es {
		if es[i].form == fSeq {
			out = append(out, flatten(es[i].elems)...)
		} else {
			out = append(out, &es[i])
		}
	}
	return out
}
