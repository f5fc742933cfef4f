package grammar

import (
	"fmt"
)

// Grammar is a compiled command table. It is immutable and safe for
// concurrent use.
type Grammar struct {
	entries []Entry
	groups  []Group
	nodes   []node
	start   int // splits to every entry
	// body[i] is where entry i's syntax continues after its leading NODE
	// or ROUTER (help matches `help show` against `ROUTER show ...`); -1
	// when the entry does not start with one.
	body []int
	cur  int // the entry being compiled
}

type nodeOp int

const (
	nMatch nodeOp = iota + 1 // consumes one word if elem accepts it
	nSplit                   // goes on to every next, in order
	nGuard                   // goes on only if mark is not bound yet
	nMark                    // binds mark, then goes on
	nEnd                     // the line may end here: entry matched
)

type node struct {
	op    nodeOp
	elem  *Elem // nMatch
	next  []int
	mark  string // nGuard, nMark
	entry int    // the entry whose automaton the node is part of; -1 for the start
}

// New compiles a table. It fails on a table the parser could not use: a
// duplicate name, an unknown group, a Rest not at the end, an option or
// list element that may match nothing.
func New(entries []Entry, groups []Group) (*Grammar, error) {
	g := &Grammar{entries: append([]Entry(nil), entries...), groups: append([]Group(nil), groups...)}
	names := map[string]bool{}
	gnames := map[string]bool{}
	for _, gr := range groups {
		gnames[gr.Name] = true
	}
	g.cur = -1
	g.start = g.add(node{op: nSplit})
	var starts []int
	for i := range g.entries {
		e := &g.entries[i]
		if e.Name == "" || names[e.Name] {
			return nil, fmt.Errorf("grammar: entry %d: empty or duplicate name %q", i, e.Name)
		}
		names[e.Name] = true
		if e.Group != "" && !gnames[e.Group] {
			return nil, fmt.Errorf("grammar: %s: unknown group %q", e.Name, e.Group)
		}
		if len(e.Syntax) == 0 {
			return nil, fmt.Errorf("grammar: %s: no syntax", e.Name)
		}
		if err := check(e.Syntax, true); err != nil {
			return nil, fmt.Errorf("grammar: %s: %v", e.Name, err)
		}
		g.cur = i
		end := g.add(node{op: nEnd})
		next := end
		body := -1
		for j := len(e.Syntax) - 1; j >= 0; j-- {
			next = g.compile(&e.Syntax[j], next)
			if j == 1 && e.Syntax[0].form == fValue && (e.Syntax[0].kind == Node || e.Syntax[0].kind == Router) {
				body = next
			}
		}
		starts = append(starts, next)
		g.body = append(g.body, body)
	}
	g.nodes[g.start].next = starts
	// A line's first word may not be abbreviated: a node called like
	// the abbreviation would be shadowed by the command.
	r := &run{g: g}
	waiting, _ := r.closure([]state{{node: g.start}})
	for _, s := range waiting {
		for _, w := range g.nodes[s.node].elem.words {
			if w.Min > 0 {
				return nil, fmt.Errorf("grammar: %s: a first word may not be abbreviated (%s)", g.entries[g.nodes[s.node].entry].Name, w.Text)
			}
		}
	}
	return g, nil
}

// MustNew is New for tables written in the program: it panics on error.
func MustNew(entries []Entry, groups []Group) *Grammar {
	g, err := New(entries, groups)
	if err != nil {
		panic(err)
	}
	return g
}

// Entries returns the table, in its order.
func (g *Grammar) Entries() []Entry { return g.entries }

// Entry returns the entry called name, or nil.
func (g *Grammar) Entry(name string) *Entry {
	for i := range g.entries {
		if g.entries[i].Name == name {
			return &g.entries[i]
		}
	}
	return nil
}

func (g *Grammar) add(n node) int {
	n.entry = g.cur
	g.nodes = append(g.nodes, n)
	return len(g.nodes) - 1
}

// check refuses elements the automaton cannot run: a Rest anywhere but at
// the end, an option, list or alternative that may match no word at all
// (it would loop without reading).
func check(es []Elem, tail bool) error {
	for i := range es {
		e := &es[i]
		last := tail && i == len(es)-1
		switch e.form {
		case 0:
			return fmt.Errorf("element %d is the zero Elem", i)
		case fKeyword:
			if len(e.words) == 0 {
				return fmt.Errorf("a keyword without words")
			}
		case fValue, fList:
			if _, ok := kinds[e.kind]; !ok || kinds[e.kind].rest {
				return fmt.Errorf("%s: kind %d is not a one-word kind", e.label, e.kind)
			}
		case fRest:
			if !last {
				return fmt.Errorf("%s takes the rest of the line: it must come last", e.label)
			}
		case fSeq, fOpt:
			if len(e.elems) == 0 {
				return fmt.Errorf("an empty sequence")
			}
			if err := check(e.elems, last); err != nil {
				return err
			}
		case fAlt, fOptions:
			if len(e.elems) == 0 {
				return fmt.Errorf("an empty alternative or options")
			}
			for j := range e.elems {
				if nullable(&e.elems[j]) {
					return fmt.Errorf("%q may match nothing", e.elems[j].usage())
				}
				if err := check(e.elems[j:j+1], last && e.form == fAlt); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// nullable reports whether e may match no word.
func nullable(e *Elem) bool {
	switch e.form {
	case fOpt, fOptions:
		return true
	case fSeq:
		for i := range e.elems {
			if !nullable(&e.elems[i]) {
				return false
			}
		}
		return true
	case fAlt:
		for i := range e.elems {
			if nullable(&e.elems[i]) {
				return true
			}
		}
		return false
	}
	return false
}

// compile adds e's automaton, going on to next once e is matched, and
// returns where it starts.
func (g *Grammar) compile(e *Elem, next int) int {
	switch e.form {
	case fKeyword, fValue, fPunct:
		return g.add(node{op: nMatch, elem: e, next: []int{next}})
	case fRest:
		i := g.add(node{op: nMatch, elem: e})
		g.nodes[i].next = []int{i, next}
		return i
	case fSeq:
		for i := len(e.elems) - 1; i >= 0; i-- {
			next = g.compile(&e.elems[i], next)
		}
		return next
	case fOpt:
		body := next
		for i := len(e.elems) - 1; i >= 0; i-- {
			body = g.compile(&e.elems[i], body)
		}
		// What follows first: Tab offers a command's own word before
		// the optional ones in front of it (`show ` offers bgp, then
		// ip and ipv6).
		return g.add(node{op: nSplit, next: []int{next, body}})
	case fAlt:
		var starts []int
		for i := range e.elems {
			starts = append(starts, g.compile(&e.elems[i], next))
		}
		return g.add(node{op: nSplit, next: starts})
	case fList:
		v := &Elem{form: fValue, kind: e.kind, name: e.name, label: e.label}
		open := &Elem{form: fPunct, words: []Keyword{{Text: "["}}}
		closing := &Elem{form: fPunct, words: []Keyword{{Text: "]"}}}
		// Bare: v, then v again or on.
		bare := g.add(node{op: nMatch, elem: v})
		g.nodes[bare].next = []int{bare, next}
		// Bracketed: [ v* ].
		cl := g.add(node{op: nMatch, elem: closing, next: []int{next}})
		inner := g.add(node{op: nMatch, elem: v})
		g.nodes[inner].next = []int{inner, cl}
		op := g.add(node{op: nMatch, elem: open, next: []int{inner, cl}})
		return g.add(node{op: nSplit, next: []int{bare, op}})
	case fOptions:
		loop := g.add(node{op: nSplit})
		var starts []int
		for i := range e.elems {
			o := &e.elems[i]
			body := g.compile(o, loop)
			if !o.repeat {
				mark := fmt.Sprintf("\x00option %d.%d", loop, i)
				m := g.add(node{op: nMark, mark: mark, next: []int{body}})
				body = g.add(node{op: nGuard, mark: mark, next: []int{m}})
			}
			starts = append(starts, body)
		}
		g.nodes[loop].next = append(starts, next)
		return loop
	}
	panic(fmt.Sprintf("grammar: element form %d", e.form))
}
