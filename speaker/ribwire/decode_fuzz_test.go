package ribwire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// goldenUpdates rebuilds the UPDATEs of the codec's golden files
// (../wire/testdata/format and ../wire/testdata/seed, the seed's tcpdump dumps
// among them) from what they print: the withdrawn routes, every
// attribute's flags, type and value bytes, and the NLRI. Each message's
// length is checked against the length the file prints, so a file the
// parser misreads fails the test instead of seeding garbage.
func goldenUpdates(t testing.TB) map[string][]byte {
	t.Helper()
	var files []string
	for _, dir := range []string{"../wire/testdata/format", "../wire/testdata/seed"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.txt"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	head := regexp.MustCompile(`^Update Message \(2\), length: (\d+)$`)
	attr := regexp.MustCompile(`^  .* \((\d+)\), length: (\d+), Flags \[([OTPE]*)\]:`)
	dump := regexp.MustCompile(`^    0x[0-9a-f]{4}:  ([0-9a-f ]+)$`)
	out := map[string][]byte{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		if !sc.Scan() {
			f.Close()
			continue
		}
		m := head.FindStringSubmatch(sc.Text())
		if m == nil {
			f.Close()
			continue // not an UPDATE
		}
		wantLen, _ := strconv.Atoi(m[1])
		var withdrawn, attrs, nlri []byte
		var section *[]byte // where listed prefixes go
		var value *[]byte   // the value of the attribute being read
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				break // the tcpdump rendering ends here
			}
			switch {
			case line == "  Withdrawn routes:":
				section, value = &withdrawn, nil
			case line == "  Updated routes:":
				section, value = &nlri, nil
			case attr.MatchString(line):
				a := attr.FindStringSubmatch(line)
				code, _ := strconv.Atoi(a[1])
				n, _ := strconv.Atoi(a[2])
				var flags byte
				for _, c := range a[3] {
					flags |= map[rune]byte{'O': 0x80, 'T': 0x40, 'P': 0x20, 'E': 0x10}[c]
				}
				attrs = append(attrs, flags, byte(code))
				if flags&0x10 != 0 {
					attrs = binary.BigEndian.AppendUint16(attrs, uint16(n))
				} else {
					attrs = append(attrs, byte(n))
				}
				section, value = nil, &attrs
			case dump.MatchString(line) && value != nil:
				b, err := hex.DecodeString(strings.ReplaceAll(dump.FindStringSubmatch(line)[1], " ", ""))
				if err != nil {
					t.Fatalf("%s: %q: %v", name, line, err)
				}
				*value = append(*value, b...)
			case section != nil && strings.HasPrefix(line, "    "):
				p, err := netip.ParsePrefix(strings.TrimSpace(line))
				if err != nil {
					t.Fatalf("%s: %q: %v", name, line, err)
				}
				*section = wire.AppendPrefix(*section, p)
			}
		}
		f.Close()
		b := bytes.Repeat([]byte{0xff}, 16)
		b = binary.BigEndian.AppendUint16(b, 0)
		b = append(b, byte(wire.TypeUpdate))
		b = binary.BigEndian.AppendUint16(b, uint16(len(withdrawn)))
		b = append(b, withdrawn...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(attrs)))
		b = append(b, attrs...)
		b = append(b, nlri...)
		binary.BigEndian.PutUint16(b[16:], uint16(len(b)))
		if len(b) != wantLen {
			t.Fatalf("%s: rebuilt %d bytes, the file says %d", name, len(b), wantLen)
		}
		out[filepath.Base(name)] = b
	}
	if len(out) < 10 {
		t.Fatalf("only %d golden UPDATEs found", len(out))
	}
	return out
}

// The golden UPDATEs are rebuilt byte for byte: the general decoder reads
// each of them (as the codec's golden tests do), so they seed the fuzzer
// with real messages.
func TestGoldenUpdatesRebuilt(t *testing.T) {
	for name, b := range goldenUpdates(t) {
		if _, err := wire.Parse(b, &wire.Options{AS4: true}); err != nil {
			var we *wire.Error
			if !errors.As(err, &we) || we.Action == wire.ActionSessionReset {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// fastMatchesGeneral decodes the UPDATE b both ways, on a session with
// options o from an iBGP peer when ibgp, and fails t when they disagree:
// an UPDATE the fast path takes must be one the general path decodes
// without any error (every error, whatever its code, subcode and RFC 7606
// action, is the general path's to report), to the same parts with the
// same interned attribute sets. Every reference is given back.
func fastMatchesGeneral(t *testing.T, in *rib.Interner, d *Decoder, b []byte, o *wire.Options, ibgp bool) (fast bool) {
	t.Helper()
	cfg := struct{ Interface string }{"eth0"}
	got, ok := d.Decode(in, b, o, cfg.Interface, ibgp)
	m, perr := wire.Parse(b, o)
	if ok {
		if perr != nil {
			t.Fatalf("the fast path took an UPDATE the general one rejects (%v):\n% x", perr, b)
		}
		u, isUpdate := m.(*wire.Update)
		if !isUpdate {
			t.Fatalf("the fast path took a %s:\n% x", m.Type(), b)
		}
		want := Convert(u, o, nil, cfg.Interface, ibgp)
		want.Intern(in)
		opts := []cmp.Option{
			cmp.AllowUnexported(Part{}, Update{}),
			cmp.FilterPath(func(p cmp.Path) bool {
				sf, ok := p.Last().(cmp.StructField)
				return ok && (sf.Name() == "pooled" || sf.Name() == "partBuf" || sf.Name() == "pfxBuf")
			}, cmp.Ignore()),
			// Interned sets are compared by identity: the same
			// Interner must hand both paths the same set.
			cmp.Comparer(func(a, b *rib.Attrs) bool { return a == b }),
			cmpopts.EquateEmpty(),
			cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
			cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		}
		if diff := cmp.Diff(want, got, opts...); diff != "" {
			t.Fatalf("ibgp %v, as4 %v (-general +fast):\n%s\n% x", ibgp, o.AS4, diff, b)
		}
		want.Release(in)
		got.Release(in)
		got.Done()
	}
	if n := in.Len(); n != 0 {
		t.Fatalf("%d attribute sets left interned after decoding (fast %v):\n% x", n, ok, b)
	}
	return ok
}

// FuzzFastDecode: the fast UPDATE decoder and the general path (Parse,
// convertIn, intern) agree on every input. The input is an UPDATE body;
// the header is made for it, as the reader has checked it.
func FuzzFastDecode(f *testing.F) {
	for _, b := range goldenUpdates(f) {
		f.Add(b[wire.HeaderLen:], true, false)
		f.Add(b[wire.HeaderLen:], true, true)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		b, err := randomUpdate(rng).AppendTo(nil, &wire.Options{AS4: true})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[wire.HeaderLen:], true, rng.IntN(2) == 0)
	}
	in := rib.NewInterner()
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte, as4, ibgp bool) {
		if len(body) > wire.MaxMessageLen-wire.HeaderLen {
			return
		}
		b := bytes.Repeat([]byte{0xff}, 16)
		b = binary.BigEndian.AppendUint16(b, uint16(wire.HeaderLen+len(body)))
		b = append(b, byte(wire.TypeUpdate))
		b = append(b, body...)
		fastMatchesGeneral(t, in, &d, b, &wire.Options{AS4: as4}, ibgp)
	})
}

// The golden UPDATEs, whole and damaged one byte at a time, decode the
// same both ways; most of the whole ones take the fast path.
func TestFastDecodeGolden(t *testing.T) {
	in := rib.NewInterner()
	var d Decoder
	fast := 0
	for _, b := range goldenUpdates(t) {
		for _, ibgp := range []bool{false, true} {
			if fastMatchesGeneral(t, in, &d, b, &wire.Options{AS4: true}, ibgp) {
				fast++
			}
			for i := wire.HeaderLen; i < len(b); i++ {
				for _, x := range []byte{0x00, 0x01, 0x10, 0x40, 0x80, 0xff} {
					c := bytes.Clone(b)
					c[i] ^= x
					fastMatchesGeneral(t, in, &d, c, &wire.Options{AS4: true}, ibgp)
				}
			}
		}
	}
	if fast < 10 {
		t.Errorf("the fast path took %d golden UPDATEs", fast)
	}
}
