package diagram

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/topo"
)

var update = flag.Bool("update", false, "rewrite the golden files of diagram/testdata")

func load(t testing.TB, path string) *topo.Lab {
	t.Helper()
	l, err := topo.Load(path)
	if err != nil {
		var b bytes.Buffer
		topo.WriteErrors(&b, err)
		t.Fatalf("%s:\n%s", path, b.String())
	}
	return l
}

func ba(t testing.TB, n, m int, seed int64) *topo.Lab {
	t.Helper()
	b, err := topo.GenerateBA(n, m, seed)
	if err != nil {
		t.Fatal(err)
	}
	l, err := topo.Parse(fmt.Sprintf("ba%d.yaml", n), b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func render(t testing.TB, l *topo.Lab, f Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, l, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden compares the seed lab's SVG, JSON and DOT, and the SVG and
// JSON of the other test labs, with golden files (-update rewrites them).
func TestGolden(t *testing.T) {
	cases := []struct {
		file    string
		formats []Format
	}{
		{"../topologies/simple-bgp.yaml", []Format{SVG, JSON, DOT}},
		{"../topologies/shared-lan.yaml", []Format{SVG, JSON}},
		{"testdata/transit.yaml", []Format{SVG, JSON}},
	}
	for _, c := range cases {
		l := load(t, c.file)
		for _, f := range c.formats {
			name := strings.TrimSuffix(filepath.Base(c.file), ".yaml") + "." + string(f)
			t.Run(name, func(t *testing.T) {
				got := render(t, l, f)
				path := filepath.Join("testdata", name)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run `go test ./diagram -update` to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
				}
			})
		}
	}
}

// TestDOTIsTopoDOT: --format dot is today's `lab graph` output, byte for
// byte.
func TestDOTIsTopoDOT(t *testing.T) {
	l := load(t, "../topologies/simple-bgp.yaml")
	var want bytes.Buffer
	if err := topo.WriteDOT(&want, l); err != nil {
		t.Fatal(err)
	}
	if got := render(t, l, DOT); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("Write(DOT) differs from topo.WriteDOT")
	}
}

// svgDoc is what the tests read back from an SVG: every element with its
// attributes, in document order.
type svgElem struct {
	name  string
	attrs map[string]string
	// group is the id of the nearest enclosing <g> with an id.
	group string
}

// parseSVG parses an SVG strictly (encoding/xml) and returns its elements.
func parseSVG(t testing.TB, b []byte) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var out []svgElem
	var stack []string // ids of open elements ("" for none)
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if root {
				if x.Name.Local != "svg" || x.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root element %v, want svg in the SVG namespace", x.Name)
				}
				root = false
			}
			e := svgElem{name: x.Name.Local, attrs: map[string]string{}}
			for _, a := range x.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] != "" {
					e.group = stack[i]
					break
				}
			}
			id := ""
			if x.Name.Local == "g" {
				id = e.attrs["id"]
			}
			stack = append(stack, id)
			out = append(out, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root {
		t.Fatal("SVG has no root element")
	}
	return out
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("attribute %q is not an integer", s)
	}
	return n
}

// rectOf reads a <rect>'s box.
func rectOf(t testing.TB, e svgElem) Rect {
	return Rect{atoi(t, e.attrs["x"]), atoi(t, e.attrs["y"]), atoi(t, e.attrs["width"]), atoi(t, e.attrs["height"])}
}

// checkSVG parses the SVG of l and checks the promises of the package: no
// two node boxes overlap, no two AS boxes overlap, every node is inside
// its AS, ids are unique, and every node, link, AS and session of the lab
// is there.
func checkSVG(t *testing.T, l *topo.Lab, b []byte) {
	t.Helper()
	elems := parseSVG(t, b)
	ids := map[string]bool{}
	nodes := map[string]Rect{}
	nodeAS := map[string]string{}
	ases := map[string]Rect{}
	var nodeOrder, asOrder []string
	links := 0
	for _, e := range elems {
		if id := e.attrs["id"]; id != "" {
			if ids[id] {
				t.Errorf("id %q used twice", id)
			}
			ids[id] = true
		}
		if e.name != "rect" {
			continue
		}
		switch {
		case strings.HasPrefix(e.group, "node-"):
			nodes[e.group] = rectOf(t, e)
			nodeOrder = append(nodeOrder, e.group)
		case strings.HasPrefix(e.group, "as-"):
			ases[e.group] = rectOf(t, e)
			asOrder = append(asOrder, e.group)
		}
	}
	for _, e := range elems {
		if e.name == "g" && strings.HasPrefix(e.attrs["id"], "node-") {
			nodeAS[e.attrs["id"]] = "as-" + e.attrs["data-as"]
		}
		if e.name == "line" && strings.HasPrefix(e.attrs["id"], "link-") {
			links++
		}
	}
	if len(nodes) != len(l.Routers)+len(l.Hosts) || len(ases) != len(l.ASes) || links != len(l.Links) {
		t.Fatalf("SVG has %d nodes, %d ASes, %d links; the lab %d, %d, %d",
			len(nodes), len(ases), links, len(l.Routers)+len(l.Hosts), len(l.ASes), len(l.Links))
	}
	for _, n := range l.Nodes() {
		if _, ok := nodes["node-"+n.Name]; !ok {
			t.Errorf("no box for node %s", n.Name)
		}
	}
	for _, s := range l.Sessions {
		for _, end := range []string{"-a", "-b"} {
			if !ids[fmt.Sprintf("session-%d%s", s.Index, end)] {
				t.Errorf("no dot for session %d%s", s.Index, end)
			}
		}
	}
	for i, a := range nodeOrder {
		for _, b := range nodeOrder[i+1:] {
			if nodes[a].Overlaps(nodes[b]) {
				t.Errorf("node boxes overlap: %s %v and %s %v", a, nodes[a], b, nodes[b])
			}
		}
		as, ok := ases[nodeAS[a]]
		if !ok || !as.Contains(nodes[a]) {
			t.Errorf("node %s %v is not inside its AS box %s %v", a, nodes[a], nodeAS[a], as)
		}
	}
	for i, a := range asOrder {
		for _, b := range asOrder[i+1:] {
			if ases[a].Overlaps(ases[b]) {
				t.Errorf("AS boxes overlap: %s %v and %s %v", a, ases[a], b, ases[b])
			}
		}
	}
}

// TestSVGNoOverlap draws the shipped topologies, the test labs and
// Barabási–Albert labs of 50, 200 and 1000 ASes, parses each SVG and
// checks that no boxes overlap.
func TestSVGNoOverlap(t *testing.T) {
	files, err := filepath.Glob("../topologies/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, f := range append(files, more...) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			l := load(t, f)
			checkSVG(t, l, render(t, l, SVG))
		})
	}
	for _, n := range []int{50, 200, 1000} {
		t.Run(fmt.Sprintf("BA%d", n), func(t *testing.T) {
			l := ba(t, n, 2, 1)
			checkSVG(t, l, render(t, l, SVG))
		})
	}
}

// TestManyShapes checks the same promises on many small random labs:
// trees (m=1), sparse and dense graphs, other seeds.
func TestManyShapes(t *testing.T) {
	for n := 2; n <= 40; n += 3 {
		for m := 1; m <= 3 && m < n; m++ {
			l := ba(t, n, m, int64(n*10+m))
			t.Run(fmt.Sprintf("n%d-m%d", n, m), func(t *testing.T) {
				checkSVG(t, l, render(t, l, SVG))
			})
		}
	}
}

// TestJSON checks the JSON against the lab: every node, link, LAN and
// session, boxes as in the SVG, and links ending on their nodes' boxes.
func TestJSON(t *testing.T) {
	l := load(t, "../topologies/shared-lan.yaml")
	var d Diagram
	if err := json.Unmarshal(render(t, l, JSON), &d); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(&d, New(l)) {
		t.Errorf("the JSON does not decode to the diagram:\n%s", cmp.Diff(New(l), &d))
	}
	if len(d.Nodes) != 9 || len(d.Links) != 8 || len(d.LANs) != 2 || len(d.Sessions) != len(l.Sessions) || len(d.ASes) != 3 {
		t.Fatalf("JSON has %d nodes, %d links, %d LANs, %d sessions, %d ASes",
			len(d.Nodes), len(d.Links), len(d.LANs), len(d.Sessions), len(d.ASes))
	}
	boxes := map[string]Rect{}
	for _, n := range d.Nodes {
		boxes[n.Name] = n.Rect
	}
	onBorder := func(p Point, r Rect) bool {
		in := p.X >= r.X-1 && p.X <= r.X+r.W+1 && p.Y >= r.Y-1 && p.Y <= r.Y+r.H+1
		edge := abs(p.X-r.X) <= 1 || abs(p.X-r.X-r.W) <= 1 || abs(p.Y-r.Y) <= 1 || abs(p.Y-r.Y-r.H) <= 1
		return in && edge
	}
	for i, k := range d.Links {
		if k.Index != i || k.ID != fmt.Sprintf("link-%d", i) {
			t.Errorf("link %d is %s (index %d)", i, k.ID, k.Index)
		}
		last := k.Points[len(k.Points)-1]
		if !onBorder(last, boxes[k.B.Node]) {
			t.Errorf("%s ends at %v, not on %s's box %v", k.ID, last, k.B.Node, boxes[k.B.Node])
		}
		if k.LAN == "" && !onBorder(k.Points[0], boxes[k.A.Node]) {
			t.Errorf("%s starts at %v, not on %s's box %v", k.ID, k.Points[0], k.A.Node, boxes[k.A.Node])
		}
	}
	cpe := d.LANs[0]
	if cpe.Router != "cpe" || !slicesEqual(cpe.Hosts, []string{"pc1", "pc2", "pc3"}) || len(cpe.Bus) != 2 || len(cpe.Trunk) != 2 {
		t.Errorf("LAN 0: %+v", cpe)
	}
	for _, k := range d.Links {
		if k.LAN == "cpe" {
			// The host's line starts on the bus.
			p, b := k.Points[0], cpe.Bus
			onBus := (b[0].Y == b[1].Y && p.Y == b[0].Y && p.X >= min(b[0].X, b[1].X) && p.X <= max(b[0].X, b[1].X)) ||
				(b[0].X == b[1].X && p.X == b[0].X && p.Y >= min(b[0].Y, b[1].Y) && p.Y <= max(b[0].Y, b[1].Y))
			if !onBus {
				t.Errorf("%s starts at %v, off the bus %v", k.ID, p, b)
			}
		}
	}
}

func slicesEqual(a, b []string) bool { return cmp.Equal(a, b) }

// TestDeterministic: the same lab gives the same bytes, run after run and
// from goroutines at once (the layout shares no state).
func TestDeterministic(t *testing.T) {
	labs := []*topo.Lab{load(t, "../topologies/simple-bgp.yaml"), load(t, "testdata/campus.yaml"), ba(t, 200, 2, 1), ba(t, 400, 3, 7)}
	for _, l := range labs {
		first := render(t, l, SVG)
		firstJSON := render(t, l, JSON)
		var wg sync.WaitGroup
		got := make([][]byte, 4)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var b bytes.Buffer
				New(l).WriteSVG(&b)
				got[i] = b.Bytes()
			}()
		}
		wg.Wait()
		for i, g := range got {
			if !bytes.Equal(g, first) {
				t.Errorf("%s: run %d differs from the first", l.Name, i+2)
			}
		}
		if !bytes.Equal(render(t, l, JSON), firstJSON) {
			t.Errorf("%s: JSON differs between runs", l.Name)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"svg", "dot", "json", "SVG"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	_, err := ParseFormat("png")
	if err == nil || !strings.Contains(err.Error(), `"png"`) || !strings.Contains(err.Error(), "svg, dot or json") {
		t.Errorf("ParseFormat(png) = %v; want an error naming png and the accepted words", err)
	}
	if err := Write(io.Discard, load(t, "../topologies/minimal.yaml"), Format("gif")); err == nil {
		t.Error("Write with format gif succeeded")
	}
}

// TestSeedLooks pins what makes the seed picture right rather than just
// unchanged: each host right beside its router (above or below it, at
// the same x), each AS box holding exactly its router and host, and the
// picture not larger than a page.
func TestSeedLooks(t *testing.T) {
	d := New(load(t, "../topologies/simple-bgp.yaml"))
	box := map[string]Node{}
	for _, n := range d.Nodes {
		box[n.Name] = n
	}
	for _, pair := range [][2]string{{"as1ra", "h1"}, {"as2rb", "h2"}, {"as3rc", "h3"}, {"as4rd", "h4"}} {
		r, h := box[pair[0]], box[pair[1]]
		if r.Center().X != h.Center().X {
			t.Errorf("%s is not straight above or below %s: %v %v", pair[1], pair[0], h.Rect, r.Rect)
		}
		gap := max(h.Y-(r.Y+r.H), r.Y-(h.Y+h.H))
		if gap <= 0 || gap > 40 {
			t.Errorf("%s is %d pixels from %s", pair[1], gap, pair[0])
		}
	}
	if d.Width > 800 || d.Height > 600 {
		t.Errorf("seed picture is %dx%d", d.Width, d.Height)
	}
}

// BenchmarkLayoutBA1000 times the layout of a 1000-AS Barabási–Albert lab
// (`go test -bench LayoutBA1000 ./diagram`).
func BenchmarkLayoutBA1000(b *testing.B) {
	l := ba(b, 1000, 2, 1)
	b.ResetTimer()
	for range b.N {
		New(l)
	}
}

// BenchmarkSVGBA1000 times layout and SVG output together.
func BenchmarkSVGBA1000(b *testing.B) {
	l := ba(b, 1000, 2, 1)
	b.ResetTimer()
	for range b.N {
		New(l).WriteSVG(io.Discard)
	}
}
