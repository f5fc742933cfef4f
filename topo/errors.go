package topo

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Kinds of topology errors. Every *Error wraps one of them, so a caller can
// tell them apart with errors.Is (an ErrorList matches a kind when any of
// its errors does).
var (
	// ErrSyntax: the file is not valid YAML.
	ErrSyntax = errors.New("YAML syntax error")
	// ErrType: a value has the wrong type or shape (a list where a mapping
	// is expected, a word where a number is expected).
	ErrType = errors.New("wrong type")
	// ErrUnknownField: a mapping has a key the format does not define.
	ErrUnknownField = errors.New("unknown field")
	// ErrMissing: a required field is absent.
	ErrMissing = errors.New("missing field")
	// ErrDuplicate: a name, key, address, router ID or prefix is used twice.
	ErrDuplicate = errors.New("duplicate")
	// ErrReference: a name refers to no node, or to a node of the wrong kind.
	ErrReference = errors.New("bad reference")
	// ErrValue: a value is out of range or otherwise invalid.
	ErrValue = errors.New("invalid value")
	// ErrAddress: an address or prefix is invalid where it is used, overlaps
	// another, or cannot be allocated.
	ErrAddress = errors.New("address error")
)

// Error is one problem in a topology file.
type Error struct {
	Pos Pos
	Msg string
	// Kind is one of the Err* kinds above; Unwrap returns it.
	Kind error
	// Source is the text of line Pos.Line (without its newline), for the
	// pretty printer; "" when the position has no line.
	Source string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the error's kind.
func (e *Error) Unwrap() error { return e.Kind }

// Pretty renders the error as a compiler does: the position and message,
// then the offending line with a caret under the column.
//
//	bad.yaml:12:5: unknown field "asn" in router "r1"; expected one of: as, ...
//	   12 |     asn: 5
//	      |     ^
func (e *Error) Pretty() string {
	var b strings.Builder
	b.WriteString(e.Error())
	b.WriteByte('\n')
	if e.Pos.Line > 0 && e.Source != "" {
		fmt.Fprintf(&b, "%5d | %s\n", e.Pos.Line, e.Source)
		if e.Pos.Col > 0 {
			// Columns count characters (the YAML scanner's unit); keep tabs
			// so the caret lines up under them.
			var pad strings.Builder
			n := 0
			for _, r := range e.Source {
				if n >= e.Pos.Col-1 {
					break
				}
				if r == '\t' {
					pad.WriteByte('\t')
				} else {
					pad.WriteByte(' ')
				}
				n++
			}
			fmt.Fprintf(&b, "%5s | %s^\n", "", pad.String())
		}
	}
	return b.String()
}

// ErrorList is every problem found in a topology file, sorted by position.
// Load and Parse return one (as an error) when the file is invalid.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors of the list, so that errors.Is and errors.As
// look into each of them.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Pretty renders every error with its source line and caret, followed by a
// count when there are several.
func (l ErrorList) Pretty() string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Pretty())
	}
	if len(l) > 1 {
		fmt.Fprintf(&b, "%d errors\n", len(l))
	}
	return b.String()
}

// WriteErrors writes err to w for people: an ErrorList (or an error that
// wraps one) pretty-printed with source lines and carets, any other error
// as its text. It is what `lab validate` prints.
func WriteErrors(w io.Writer, err error) error {
	if err == nil {
		return nil
	}
	var l ErrorList
	if errors.As(err, &l) {
		_, werr := io.WriteString(w, l.Pretty())
		return werr
	}
	_, werr := fmt.Fprintln(w, err)
	return werr
}

// sortErrors drops exact repeats (a setting inherited by many routers is
// reported once) and orders the rest by file, line and column, keeping the
// order in which they were found for equal positions.
func sortErrors(l ErrorList) ErrorList {
	type key struct {
		pos Pos
		msg string
	}
	seen := make(map[key]bool, len(l))
	out := l[:0]
	for _, e := range l {
		k := key{e.Pos, e.Msg}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
	return out
}
