package commands

import (
	"testing"

	"lab/cli/grammar"
)

// Every daemon-side command of the table has its implementation here,
// and every implementation a command of the table.
func TestHandlersMatchTheTable(t *testing.T) {
	daemon := map[string]bool{}
	for _, e := range grammar.Shell.Entries() {
		if e.Client {
			if _, ok := handlers[e.Name]; ok {
				t.Errorf("%q runs in the client, yet the daemon implements it", e.Name)
			}
			continue
		}
		daemon[e.Name] = true
		if _, ok := handlers[e.Name]; !ok {
			t.Errorf("the table's %q has no implementation in the daemon", e.Name)
		}
	}
	for name := range handlers {
		if !daemon[name] {
			t.Errorf("implementation %q is not a daemon command of the table", name)
		}
	}
}
