package wire

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/format")

// TestFormatGolden pins the multi-line rendering, the one-line summary and
// the JSON of every round-trip message (4-octet session) to
// testdata/format; go test -run TestFormatGolden -update rewrites them
// after an intended change.
func TestFormatGolden(t *testing.T) {
	slug := regexp.MustCompile(`[^a-z0-9]+`)
	for name, m := range roundTripMessages() {
		file := filepath.Join("testdata", "format", strings.Trim(slug.ReplaceAllString(name, "_"), "_")+".txt")
		t.Run(name, func(t *testing.T) {
			j, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(j) || !bytes.Contains(j, []byte(`"type": "`+m.Type().String()+`"`)) {
				t.Errorf("JSON without its type:\n%s", j)
			}
			got := Format(m) + "\n\n" + Summary(m) + "\n\n" + string(j) + "\n"
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}
