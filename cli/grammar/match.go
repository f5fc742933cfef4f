package grammar

import (
	"slices"
	"strings"
	"unicode"
)

// token is one word of a line, with where it is (a Rest takes the line
// from its first word on, verbatim).
type token struct {
	text       string
	start, end int
}

// tokenize splits a line into words at spaces; `[` and `]` are words of
// their own.
func tokenize(line string) []token {
	var toks []token
	start := -1
	flush := func(i int) {
		if start >= 0 {
			toks = append(toks, token{text: line[start:i], start: start, end: i})
			start = -1
		}
	}
	for i, r := range line {
		switch {
		case unicode.IsSpace(r):
			flush(i)
		case r == '[' || r == ']':
			flush(i)
			toks = append(toks, token{text: line[i : i+1], start: i, end: i + 1})
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(line))
	return toks
}

// binding is one value bound while matching: a persistent list, shared
// by the states that have the same past.
type binding struct {
	name string
	val  Value
	prev *binding
}

func (b *binding) lookup(name string) (Value, bool) {
	for ; b != nil; b = b.prev {
		if b.name == name {
			return b.val, true
		}
	}
	return Value{}, false
}

// state is one way of reading the words so far: where in the automaton,
// and what was bound on the way.
type state struct {
	node int
	b    *binding
}

// run matches a line's words against the grammar, one word at a time.
type run struct {
	g    *Grammar
	lab  *Lab
	line string
	// topic: words are matched as `help` reads them: a value only by its
	// label (`help NODE`), never by what it accepts.
	topic bool
}

// closure follows the moves that read no word from states and returns the
// states waiting for a word and those at the end of an entry, in the
// table's order.
func (r *run) closure(states []state) (waiting, ends []state) {
	type key struct {
		node int
		b    *binding
	}
	seen := map[key]bool{}
	var visit func(s state)
	visit = func(s state) {
		k := key(s)
		if seen[k] {
			return
		}
		seen[k] = true
		n := &r.g.nodes[s.node]
		switch n.op {
		case nMatch:
			waiting = append(waiting, s)
		case nEnd:
			ends = append(ends, s)
		case nSplit:
			for _, x := range n.next {
				visit(state{x, s.b})
			}
		case nGuard:
			if _, set := s.b.lookup(n.mark); !set {
				visit(state{n.next[0], s.b})
			}
		case nMark:
			visit(state{n.next[0], &binding{name: n.mark, prev: s.b}})
		}
	}
	for _, s := range states {
		visit(s)
	}
	return waiting, ends
}

// candidate is a waiting state that accepts the word.
type candidate struct {
	s     state
	class int
	val   Value
	word  string // the keyword matched, in full
}

// accept says whether the element waiting at s accepts tok, how
// specifically, and the value bound.
func (r *run) accept(s state, tok token) (c candidate, ok bool, err error) {
	e := r.g.nodes[s.node].elem
	c.s = s
	switch e.form {
	case fKeyword, fPunct:
		for _, w := range e.words {
			exact := tok.text == w.Text
			for _, a := range w.Aliases {
				exact = exact || tok.text == a
			}
			switch {
			case exact:
				c.class = classExact
			case w.Min > 0 && len(tok.text) >= w.Min && strings.HasPrefix(w.Text, tok.text):
				c.class = classAbbrev
			default:
				continue
			}
			c.word = w.Text
			c.val = Value{Text: w.Text, V: w.Text}
			return c, true, nil
		}
		return c, false, nil
	case fValue, fRest:
		k := kinds[e.kind]
		if r.topic {
			if tok.text != e.label && !strings.EqualFold(tok.text, e.label) {
				return c, false, nil
			}
			c.class = classExact
			c.val = Value{Text: tok.text}
			return c, true, nil
		}
		v, err := k.check(r.lab, tok.text)
		if err != nil {
			return c, false, err
		}
		c.class = k.class
		c.val = Value{Text: tok.text, V: v}
		if e.form == fRest {
			c.val = Value{Text: strings.TrimSpace(r.line[tok.start:])}
			c.val.V = c.val.Text
		}
		return c, true, nil
	}
	return c, false, nil
}

// step reads one word: every waiting state that accepts it moves on; of
// those, only the most specific matches survive (a keyword over a node's
// program). It returns the states after the word, or the reason none is
// left.
func (r *run) step(waiting []state, tok token) ([]state, *stepError) {
	var cands []candidate
	var rejected []error // why values refused the word, for the error
	best := 0
	for _, s := range waiting {
		c, ok, err := r.accept(s, tok)
		if err != nil && !slices.ContainsFunc(rejected, func(e error) bool { return e.Error() == err.Error() }) {
			rejected = append(rejected, err)
		}
		if !ok {
			continue
		}
		cands = append(cands, c)
		best = max(best, c.class)
	}
	if len(cands) == 0 {
		return nil, &stepError{rejected: rejected}
	}
	var next []state
	var words []string
	for _, c := range cands {
		if c.class != best {
			continue
		}
		if best == classAbbrev && !slices.Contains(words, c.word) {
			words = append(words, c.word)
		}
		n := &r.g.nodes[c.s.node]
		b := c.s.b
		switch {
		case n.elem.form == fPunct, n.elem.name == "":
		case n.elem.form == fRest && bound(b, n.elem.name):
			// A Rest binds once, at its first word: the value is
			// the line from there on already.
		default:
			b = &binding{name: n.elem.name, val: c.val, prev: b}
		}
		for _, x := range n.next {
			next = append(next, state{x, b})
		}
	}
	if len(words) > 1 {
		return nil, &stepError{ambiguous: words}
	}
	return next, nil
}

func bound(b *binding, name string) bool {
	_, ok := b.lookup(name)
	return ok
}

// stepError is why a word was not accepted.
type stepError struct {
	rejected  []error  // what the values that could have taken it said
	ambiguous []string // the keywords an abbreviation could be
}
