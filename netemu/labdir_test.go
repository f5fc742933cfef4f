package netemu

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLabDir: the lab's directory is <RunDir>/<lab>.d, its owner's files
// go there, and Close removes it.
func TestLabDir(t *testing.T) {
	needRoot(t)
	m := seedModel(newLabName(t))
	l, w := buildLab(t, m)
	d, err := l.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(l.State().Path), m.Name+".d"); d != want {
		t.Errorf("Dir = %s, want %s", d, want)
	}
	if err := os.MkdirAll(filepath.Join(d, "as2rb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "as2rb", "bgpd.conf"), []byte("!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d); !os.IsNotExist(err) {
		t.Errorf("%s after Close: %v", d, err)
	}
	if _, err := l.Dir(); err == nil {
		t.Error("Dir after Close: no error")
	}
	w.assertGone(t)
}
