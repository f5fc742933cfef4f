package netemu_test

import (
	"os"
	"testing"

	"lab/internal/testrun"
	"lab/netemu"
)

// TestMain makes the binary a recorded test run (lab/internal/testrun),
// unless it is TestCleanAfterKill's child, a lab daemon.
func TestMain(m *testing.M) {
	if os.Getenv(netemu.ChildEnv) != "" {
		os.Exit(netemu.ChildMain())
	}
	netemu.SetTestRun(netemu.TestRun{Name: testrun.Name, Cleanup: testrun.Cleanup, Namespace: testrun.Namespace})
	testrun.Main(m)
}
