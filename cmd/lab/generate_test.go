package main

import (
	"strings"
	"testing"

	"lab/topo"
)

// TestGenerateRelations: `lab generate ba --relations` writes the
// provider-customer file, the same every time, and it loads. No root
// needed: nothing is built.
func TestGenerateRelations(t *testing.T) {
	l := &testLab{t: t, name: "g", runDir: t.TempDir()}
	out, errs, code := l.run(nil, "generate", "ba", "-n", "30", "--seed", "4", "--relations")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	again, _, _ := l.run(nil, "generate", "ba", "--relations", "-n", "30", "--seed", "4")
	if out != again {
		t.Fatal("flag order changed the file")
	}
	want, err := topo.GenerateBAWith(30, 2, 4, topo.BAOptions{Relations: true})
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatalf("lab generate --relations differs from topo.GenerateBAWith:\n%s", out)
	}
	if !strings.Contains(out, "  - {endpoints: [r1, r2], relation: provider-customer}\n") {
		t.Errorf("no provider-customer link r1 -> r2:\n%s", out)
	}
	m, err := topo.Parse("ba.yaml", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range m.Links {
		if k.Relation != topo.RelProviderCustomer {
			t.Errorf("link %v: relation %v", k, k.Relation)
		}
	}
	plain, _, _ := l.run(nil, "generate", "ba", "-n", "30", "--seed", "4")
	if strings.Contains(plain, "relation") {
		t.Errorf("without --relations the file has relations")
	}
	if _, errs, code := l.run(nil, "generate", "ba", "-n", "30", "--relation"); code == 0 || !strings.Contains(errs, "--relations") {
		t.Errorf("a misspelt flag: exit %d, %q", code, errs)
	}
}
