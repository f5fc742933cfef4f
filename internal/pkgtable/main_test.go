package main

import (
	"os"
	"testing"
)

// docs/design.md's package table is the code's: a package added, removed,
// re-documented or importing another changes it (go run
// ./internal/pkgtable -w).
func TestDesignTableIsCurrent(t *testing.T) {
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	want, err := table()
	if err != nil {
		t.Skipf("no go list here: %v", err)
	}
	b, err := os.ReadFile("docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := splice(string(b), want)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(b) {
		t.Error("docs/design.md's package table is not the code's: run go run ./internal/pkgtable -w")
	}
}
