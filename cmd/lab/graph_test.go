package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lab/topo"
)

// TestGraphCommand runs `lab graph` as a user does: SVG into a pipe,
// --format, -o and its extension, and the errors.
func TestGraphCommand(t *testing.T) {
	l := &testLab{t: t, name: "g", runDir: t.TempDir()}
	seed := "../../topologies/simple-bgp.yaml"
	m, err := topo.Load(seed)
	if err != nil {
		t.Fatal(err)
	}
	var dot bytes.Buffer
	topo.WriteDOT(&dot, m)
	isSVG := func(s string) bool {
		return strings.HasPrefix(s, "<?xml") && strings.Contains(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"") && strings.HasSuffix(s, "</svg>\n")
	}
	isJSON := func(s string) bool {
		var d struct{ Lab string }
		return json.Unmarshal([]byte(s), &d) == nil && d.Lab == "simple-bgp"
	}

	out, errs, code := l.run(nil, "graph", seed)
	if code != 0 || !isSVG(out) || errs != "" {
		t.Errorf("lab graph into a pipe: exit %d, stderr %q, stdout not SVG: %.80q", code, errs, out)
	}
	for _, f := range []string{"--format=json", "--format json", "-f json"} {
		out, errs, code = l.run(nil, append([]string{"graph", seed}, strings.Fields(f)...)...)
		if code != 0 || !isJSON(out) {
			t.Errorf("lab graph %s: exit %d, stderr %q, stdout not the lab's JSON: %.80q", f, code, errs, out)
		}
	}
	out, _, code = l.run(nil, "graph", "--format", "dot", seed)
	if code != 0 || out != dot.String() {
		t.Errorf("lab graph --format dot: exit %d, not topo.WriteDOT's text", code)
	}

	dir := t.TempDir()
	for name, check := range map[string]func(string) bool{
		"x.svg": isSVG, "x.json": isJSON, "x.dot": func(s string) bool { return s == dot.String() }, "x.picture": isSVG,
	} {
		path := filepath.Join(dir, name)
		out, errs, code = l.run(nil, "graph", seed, "-o", path)
		b, err := os.ReadFile(path)
		if code != 0 || out != "" || err != nil || !check(string(b)) {
			t.Errorf("lab graph -o %s: exit %d, stdout %q, stderr %q, file %v %.80q", name, code, out, errs, err, b)
		}
	}
	// --format wins over the extension.
	path := filepath.Join(dir, "y.svg")
	if _, _, code = l.run(nil, "graph", seed, "-o", path, "--format", "json"); code != 0 {
		t.Errorf("lab graph -o y.svg --format json: exit %d", code)
	} else if b, _ := os.ReadFile(path); !isJSON(string(b)) {
		t.Errorf("lab graph -o y.svg --format json wrote %.80q", b)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "png", seed}, `unknown format "png": want svg, dot or json`},
		{[]string{seed, "--colour"}, "usage: lab graph FILE"},
		{[]string{}, "usage: lab graph FILE"},
		{[]string{seed, seed}, "usage: lab graph FILE"},
		{[]string{"../../topologies/nonexistent.yaml"}, "nonexistent.yaml"},
	} {
		out, errs, code = l.run(nil, append([]string{"graph"}, c.args...)...)
		if code != 1 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("lab graph %q: exit %d, stdout %.40q, stderr %q; want exit 1 and %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestGraphOnATerminal: on a terminal, without -o or --format, lab graph
// prints DOT, text a person can read, and says on stderr how to get the
// picture.
func TestGraphOnATerminal(t *testing.T) {
	l := &testLab{t: t, name: "g", runDir: t.TempDir()}
	m, s := openPTY(t)
	c := l.cmd(nil, "graph", "../../topologies/simple-bgp.yaml")
	var errb bytes.Buffer
	c.Stdout, c.Stderr = s, &errb
	out := readPTY(m)
	if err := c.Run(); err != nil {
		t.Fatalf("lab graph on a terminal: %v, stderr %q", err, errb.String())
	}
	out.waitFor(t, "}")
	got := out.buf.String()
	if !strings.HasPrefix(got, `graph "simple-bgp" {`) || strings.Contains(got, "<svg") {
		t.Errorf("lab graph on a terminal printed %.80q, want DOT", got)
	}
	if !strings.Contains(errb.String(), "-o f.svg") {
		t.Errorf("no hint on stderr: %q", errb.String())
	}
}
