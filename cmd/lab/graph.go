package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"lab/diagram"
	"lab/topo"
)

const graphUsage = "usage: lab graph FILE [--format svg|dot|json] [-o FILE]"

// cmdGraph draws a topology. The format is --format's, else -o's
// extension (.json, .dot or .gv; anything else is SVG); without either,
// SVG when stdout is a file or a pipe, and DOT, text a person can read,
// when it is a terminal, with a hint on stderr.
func cmdGraph(args []string) error {
	name, args, hasFormat := flagValue(args, "--format", "-format", "-f")
	out, args, hasOut := flagValue(args, "-o", "--output")
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New(graphUsage)
	}
	if hasOut && out == "" {
		return errors.New("-o: empty file name")
	}
	var f diagram.Format
	switch {
	case hasFormat:
		var err error
		if f, err = diagram.ParseFormat(name); err != nil {
			return fmt.Errorf("--format: %v", err)
		}
	case hasOut:
		switch strings.ToLower(filepath.Ext(out)) {
		case ".json":
			f = diagram.JSON
		case ".dot", ".gv":
			f = diagram.DOT
		default:
			f = diagram.SVG
		}
	case term.IsTerminal(int(os.Stdout.Fd())):
		f = diagram.DOT
		fmt.Fprintln(os.Stderr, "lab graph: DOT on a terminal; for the picture redirect to a file or use -o f.svg (--format svg|dot|json)")
	default:
		f = diagram.SVG
	}
	m, err := topo.Load(args[0])
	if err != nil {
		return topoError(err)
	}
	var b bytes.Buffer
	if err := diagram.Write(&b, m, f); err != nil {
		return err
	}
	if hasOut {
		return os.WriteFile(out, b.Bytes(), 0o644)
	}
	_, err = os.Stdout.Write(b.Bytes())
	return err
}
