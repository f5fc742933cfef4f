// Package grammar is the lab shell's command table and what is derived
// from it: the parser (an unknown word is an error naming the words
// accepted there), `help`, Tab completion, and the words a node may not be
// called.
//
// A command is an Entry: its words as a sequence of Elems built with K,
// Abbr, Choice, Arg, Opt, Alt, Seq, Options, List and Rest. The table is
// compiled once into a nondeterministic automaton over the line's words;
// every entry is matched at once, so a word that several commands share
// (`as1ra show bgp ...`) is read once and the error at a wrong word lists
// what every command still alive accepts there.
//
// Words are separated by spaces; `[` and `]` are words of their own, so an
// ExaBGP-style list reads the same with or without spaces
// (`community [65000:1 65000:2]`). A Rest element takes the rest of the
// line verbatim (a program's command line, a message).
package grammar

import (
	"fmt"
	"strings"
)

// Entry is one command of the table.
type Entry struct {
	// Name identifies the command: the daemon registers its implementation
	// under it and the client recognises its own commands by it. Unique.
	Name string
	// Syntax is the command's words, in order.
	Syntax []Elem
	// Help says what the command does, in one sentence.
	Help string
	// Client marks the commands the shell client runs itself (help, sh,
	// source, exit, node commands); the others run in the lab daemon.
	Client bool
	// Group names the Group the entry belongs to: a group is one line of
	// `help` and is listed in full by `help GROUP`.
	Group string
}

// Group is a family of entries that `help` shows as one line
// (`ROUTER show ...`), and `help NAME` in full.
type Group struct {
	Name   string // the group's word: `help show`
	Help   string // the line of `help`
	Intro  string // printed before the group's commands by `help NAME`
	Footer string // printed after them
}

// Keyword is one word a keyword Elem accepts.
type Keyword struct {
	Text string
	// Min is how short the word may be abbreviated (FRR's `sh ip bgp
	// sum`); 0: only the whole word.
	Min int
	// Aliases are accepted as the word but neither shown nor completed
	// (`quit` for `exit`).
	Aliases []string
}

type form int

const (
	fKeyword form = iota + 1 // one of words
	fValue                   // one word of a Kind
	fRest                    // the rest of the line, of a rest Kind
	fSeq                     // elems in order
	fOpt                     // elems in order, or nothing
	fAlt                     // one of elems
	fOptions                 // elems (each an option) in any order, each at most once unless repeat
	fList                    // one or more values of a kind, or `[ v ... ]`
	fPunct                   // `[` or `]` (inside a list; not built by the table)
)

// Elem is one part of a command's syntax. Build it with the functions
// below; the zero Elem is invalid.
type Elem struct {
	form   form
	words  []Keyword // fKeyword, fPunct
	kind   Kind      // fValue, fRest, fList
	name   string    // the binding the matched words are stored under
	label  string    // how help shows a value: NODE1, A:B
	elems  []Elem    // fSeq, fOpt, fAlt, fOptions
	repeat bool      // an option of fOptions that may be given several times
	hidden bool      // left out of help's usage lines
	near   string    // Peer: the binding whose node's neighbours Tab offers
}

// K is a keyword: one of words, each in full. It binds nothing (see
// Choice, Flag and Bind).
func K(words ...string) Elem {
	if len(words) == 0 {
		panic("grammar.K: no words")
	}
	e := Elem{form: fKeyword}
	for _, w := range words {
		e.words = append(e.words, Keyword{Text: w})
	}
	return e
}

// Abbr is a keyword that may be shortened to its first min letters.
func Abbr(word string, min int) Elem {
	return Elem{form: fKeyword, words: []Keyword{{Text: word, Min: min}}}
}

// Flag is a keyword bound under its own word, for Args.Has: `soft`,
// `follow`, `json`.
func Flag(word string) Elem { return K(word).Bind(word) }

// Choice is one of words, bound under name (Args.Text(name) is the word
// in full).
func Choice(name string, words ...string) Elem {
	e := K(words...)
	e.name = name
	return e
}

// Arg is one value of kind k, bound under name. Help shows it as NAME
// unless As says otherwise.
func Arg(name string, k Kind) Elem {
	return Elem{form: fValue, kind: k, name: name, label: strings.ToUpper(name)}
}

// Rest is the rest of the line, verbatim, bound under name: k is Text,
// Command or Topic. It must come last.
func Rest(name string, k Kind) Elem {
	if !kinds[k].rest {
		panic(fmt.Sprintf("grammar.Rest(%q): %v is not a rest-of-line kind", name, k))
	}
	return Elem{form: fRest, kind: k, name: name, label: strings.ToUpper(name)}
}

// List is one or more values of kind k, bound under name in order; the
// values may also be bracketed, as ExaBGP writes them: `[ 2 2 2 ]` (then
// there may be none).
func List(name string, k Kind) Elem {
	return Elem{form: fList, kind: k, name: name, label: kinds[k].label}
}

// Seq is elems in order.
func Seq(elems ...Elem) Elem { return Elem{form: fSeq, elems: elems} }

// Opt is elems in order, or nothing.
func Opt(elems ...Elem) Elem { return Elem{form: fOpt, elems: elems} }

// Alt is one of elems.
func Alt(elems ...Elem) Elem { return Elem{form: fAlt, elems: elems} }

// Options is options in any order, each at most once unless Repeat.
// Each option starts with a keyword: `med N`, `community A:B ...`.
func Options(opts ...Elem) Elem { return Elem{form: fOptions, elems: opts} }

// As sets how help shows the element (a value's NODE1, a list's A:B).
func (e Elem) As(label string) Elem {
	e.label = label
	return e
}

// Bind sets the name a keyword's word is bound under.
func (e Elem) Bind(name string) Elem {
	e.name = name
	return e
}

// Alias adds words accepted as the keyword's (only) word.
func (e Elem) Alias(words ...string) Elem {
	if e.form != fKeyword || len(e.words) != 1 {
		panic("grammar.Alias: not a single keyword")
	}
	w := e.words[0]
	w.Aliases = append(append([]string{}, w.Aliases...), words...)
	e.words = []Keyword{w}
	return e
}

// Repeat lets an option of Options be given more than once.
func (e Elem) Repeat() Elem {
	e.repeat = true
	return e
}

// Hide leaves the element out of help's usage lines; it is still parsed
// and completed (the `json` every router command accepts).
func (e Elem) Hide() Elem {
	e.hidden = true
	return e
}

// Near makes Tab offer, for a Peer, the nodes linked to the node bound
// under ref (`link as1ra <Tab>`: as1ra's neighbours).
func (e Elem) Near(ref string) Elem {
	e.near = ref
	return e
}

// usage renders the element as help shows it.
func (e *Elem) usage() string {
	if e.hidden {
		return ""
	}
	switch e.form {
	case fKeyword:
		ws := make([]string, len(e.words))
		for i, w := range e.words {
			ws[i] = w.Text
		}
		return strings.Join(ws, "|")
	case fValue, fRest:
		return e.label
	case fList:
		return e.label + " ..."
	case fSeq:
		return joinUsage(e.elems, " ")
	case fOpt:
		if s := joinUsage(e.elems, " "); s != "" {
			return "[" + s + "]"
		}
		return ""
	case fAlt:
		var parts []string
		simple := true
		for i := range e.elems {
			s := e.elems[i].usage()
			parts = append(parts, s)
			simple = simple && !strings.Contains(s, " ")
		}
		if simple {
			return strings.Join(parts, "|")
		}
		return "(" + strings.Join(parts, " | ") + ")"
	case fOptions:
		var parts []string
		for i := range e.elems {
			if s := e.elems[i].usage(); s != "" {
				parts = append(parts, "["+s+"]")
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func joinUsage(es []Elem, sep string) string {
	var parts []string
	for i := range es {
		if s := es[i].usage(); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep)
}
