package interop

import (
	"testing"

	"lab/internal/testrun"
)

// TestMain makes the binary a recorded test run (lab/internal/testrun):
// its labs, daemons and files are removed at cleanup, on SIGINT and
// SIGTERM too, and by `lab clean` when the binary is killed.
func TestMain(m *testing.M) { testrun.Main(m) }
