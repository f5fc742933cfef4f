package grade_test

import (
	"testing"

	"lab/internal/testrun"
)

// TestMain makes the binary a recorded test run (lab/internal/testrun):
// the labs of the kernel tests are removed at cleanup, on SIGINT and
// SIGTERM too, and by `lab clean` when the binary is killed.
func TestMain(m *testing.M) { testrun.Main(m) }
