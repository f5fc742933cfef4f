package topo

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of topo/testdata")

// golden compares got with the golden file at path, or rewrites it with
// -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./topo -update` to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestBadFiles parses every testdata/bad/*.yaml: each must fail, every
// error must carry a kind and a position in the file, and the pretty
// output must match its .golden file.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("only %d bad files in testdata/bad; want at least 25", len(files))
	}
	kinds := []error{ErrSyntax, ErrType, ErrUnknownField, ErrMissing, ErrDuplicate, ErrReference, ErrValue, ErrAddress}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lab, err := Parse(name, data)
			if err == nil {
				t.Fatalf("Parse succeeded (lab %q); want errors", lab.Name)
			}
			if lab != nil {
				t.Errorf("Parse returned a lab with its errors")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			for i, e := range list {
				if e.Pos.File != name {
					t.Errorf("error %d: file %q, want %q", i, e.Pos.File, name)
				}
				if e.Pos.Line > 0 && e.Source == "" && strings.TrimSpace(lineOf(data, e.Pos.Line)) != "" {
					t.Errorf("error %d at line %d has no source line", i, e.Pos.Line)
				}
				known := false
				for _, k := range kinds {
					known = known || errors.Is(e, k)
				}
				if !known {
					t.Errorf("error %d (%v) has no known kind", i, e)
				}
				if i > 0 && comparePos(list[i-1].Pos, e.Pos) > 0 {
					t.Errorf("errors not sorted: %v before %v", list[i-1].Pos, e.Pos)
				}
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", []byte(list.Pretty()))
		})
	}
}

func lineOf(data []byte, n int) string {
	lines := bytes.Split(data, []byte("\n"))
	if n-1 < len(lines) {
		return string(lines[n-1])
	}
	return ""
}

// TestTopologies loads every shipped topology and compares its full text
// rendering (every address, session and timer) with a golden file.
func TestTopologies(t *testing.T) {
	files, err := filepath.Glob("../topologies/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d topologies, want at least 4", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			l, err := Load(f)
			if err != nil {
				var b bytes.Buffer
				WriteErrors(&b, err)
				t.Fatalf("Load(%s):\n%s", f, b.String())
			}
			var b bytes.Buffer
			if err := WriteText(&b, l); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "text", name+".golden"), b.Bytes())
			var d bytes.Buffer
			if err := WriteDOT(&d, l); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "dot", name+".dot"), d.Bytes())
		})
	}
}
