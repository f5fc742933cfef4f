package speaker

import (
	"os/exec"
	"strings"
	"testing"
)

// The architecture's rules, kept by the compiler's import graph: no
// package of the speaker imports the topology package, and the session
// engine and the decision engine do not import each other (they meet in
// package peer).
func TestImportRules(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Skipf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	pkgs, err := exec.Command("go", "list", "lab/speaker/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(pkgs)) {
		if p == "lab/speaker/internal/nstest" {
			continue // the kernel tests' helper: a test run records its namespaces as labs do
		}
		for _, d := range deps(p) {
			if d == "lab/topo" {
				t.Errorf("%s imports lab/topo", p)
			}
		}
	}
	for _, c := range [][2]string{{"lab/speaker/session", "lab/speaker/decision"}, {"lab/speaker/decision", "lab/speaker/session"}} {
		for _, d := range deps(c[0]) {
			if d == c[1] {
				t.Errorf("%s imports %s", c[0], c[1])
			}
		}
	}
}
