package fib

import (
	"testing"

	"lab/internal/testrun"
)

// TestMain makes the binary a recorded test run: the namespaces nstest
// creates are removed even when the binary is interrupted, and by
// `lab clean` when it is killed.
func TestMain(m *testing.M) { testrun.Main(m) }
