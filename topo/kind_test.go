package topo

import (
	"strings"
	"testing"
)

func TestKind(t *testing.T) {
	src := `routers:
  a: {as: 1}
  b: {as: 2, kind: frr}
  c: {as: 3, kind: bird}
  d: {as: 4, kind: lab}
  e: {as: 5, external: true}
links:
  - endpoints: [a, b]
  - endpoints: [a, c]
  - endpoints: [a, d]
  - endpoints: [a, e]
`
	l, err := Parse("k.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		daemon   Daemon
		external bool
	}{{"a", DaemonNone, false}, {"b", DaemonFRR, true}, {"c", DaemonBIRD, true}, {"d", DaemonNone, false}, {"e", DaemonNone, true}} {
		r := l.Router(c.name)
		if r.Daemon != c.daemon || r.External != c.external {
			t.Errorf("%s: daemon %v external %v, want %v %v", c.name, r.Daemon, r.External, c.daemon, c.external)
		}
	}
	if p := l.Router("b").KindPos; p != (Pos{"k.yaml", 3, 20}) {
		t.Errorf("b's kind is at %v, want k.yaml:3:20", p)
	}
	// A changed kind is a changed shape: `lab apply` refuses it.
	l2, err := Parse("k.yaml", []byte(strings.Replace(src, "kind: frr", "kind: bird", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if d := ShapeDiff(l, l2); len(d) != 1 || d[0] != "router b: kind frr to bird" {
		t.Errorf("ShapeDiff = %q", d)
	}
}

func TestKindErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"routers:\n  a: {as: 1, kind: gobgp}\n", `k.yaml:2:20: unknown kind "gobgp" of router "a"; expected lab, frr or bird`},
		{"routers:\n  a: {as: 1, external: true, kind: frr}\n", `k.yaml:2:36: kind: frr makes the lab run FRR on router "a", and external: true says you run your own daemon there: keep one`},
		{"routers:\n  a: {as: 1, kind: [frr]}\n", `k.yaml:2:20: expected lab, frr or bird for the kind of router "a"`},
	} {
		_, err := Parse("k.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}
