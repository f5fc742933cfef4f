package profile

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// SIGUSR1 writes both profiles (gzipped protobuf, as pprof reads them),
// without stop.
func TestSignalWritesProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, heap := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	t.Setenv(CPUEnv, cpu)
	t.Setenv(HeapEnv, heap)
	stop := Start()
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !gzipped(heap) {
		if time.Now().After(deadline) {
			t.Fatal("no heap profile after SIGUSR1")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !gzipped(cpu) {
		t.Error("no CPU profile after SIGUSR1")
	}
}

// Without the variables, Start does nothing.
func TestNothingAsked(t *testing.T) {
	t.Setenv(CPUEnv, "")
	t.Setenv(HeapEnv, "")
	Start()()
}

func gzipped(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.HasPrefix(b, []byte{0x1f, 0x8b})
}
