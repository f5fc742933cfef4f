// Command pkgtable writes the package table of docs/design.md from the
// code itself: every package of the module (`go list ./...`), what it
// holds (its doc comment's first sentence) and the module's packages it
// imports. With -w it rewrites the table in docs/design.md (between its
// markers); without, it prints it. The test beside it fails when the
// document's table is not the code's.
//
// Usage, from the module's root: go run ./internal/pkgtable -w
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/doc"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Markers around the generated table in docs/design.md.
const (
	begin = "<!-- package table: go run ./internal/pkgtable -w -->"
	end   = "<!-- end of package table -->"
)

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Name       string
}

// table lists the module's packages (run in the module's root).
func table() (string, error) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", err
		}
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	var b strings.Builder
	b.WriteString("| package | holds | imports (of this module) |\n|---|---|---|\n")
	for _, p := range pkgs {
		var deps []string
		for _, d := range p.Imports {
			if d == "lab" || strings.HasPrefix(d, "lab/") {
				deps = append(deps, "`"+strings.TrimPrefix(d, "lab/")+"`")
			}
		}
		holds := new(doc.Package).Synopsis(p.Doc)
		if holds == "" {
			holds = "(tests only)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", strings.TrimPrefix(p.ImportPath, "lab/"), holds, strings.Join(deps, ", "))
	}
	return b.String(), nil
}

// splice puts t between the markers of doc.
func splice(doc, t string) (string, error) {
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("docs/design.md has no %q ... %q markers", begin, end)
	}
	return doc[:i+len(begin)] + "\n\n" + t + "\n" + doc[j:], nil
}

func main() {
	write := flag.Bool("w", false, "rewrite the table in docs/design.md")
	flag.Parse()
	t, err := table()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgtable:", err)
		os.Exit(1)
	}
	if !*write {
		fmt.Print(t)
		return
	}
	b, err := os.ReadFile("docs/design.md")
	if err == nil {
		var s string
		if s, err = splice(string(b), t); err == nil {
			err = os.WriteFile("docs/design.md", []byte(s), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgtable:", err)
		os.Exit(1)
	}
}
