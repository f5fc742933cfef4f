package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzSeeds are the golden messages, the round-trip messages in both
// widths and the malformed table.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, g := range goldens {
		seeds = append(seeds, unhex(f, g.hex))
	}
	for _, m := range roundTripMessages() {
		for _, o := range []*Options{{AS4: true}, nil} {
			b, err := m.AppendTo(nil, o)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	for _, c := range malformedCases(f) {
		seeds = append(seeds, c.b)
	}
	return seeds
}

// FuzzParse: Parse never panics; what it accepts re-encodes, and the
// encoding parses again to an equal message; rendering never panics.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, true, false)
		f.Add(s, false, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, as4, ext bool) {
		o := &Options{AS4: as4, ExtendedMessage: ext}
		m, err := Parse(b, o)
		var we *Error
		if err != nil && !errors.As(err, &we) {
			t.Fatalf("Parse error %v is not a *wire.Error", err)
		}
		if err != nil && we.Code == 0 {
			t.Fatalf("error without a code: %v", err)
		}
		if m == nil {
			return
		}
		if err != nil && we.Action != ActionTreatAsWithdraw && we.Action != ActionAttributeDiscard {
			t.Fatalf("message returned with a %v error", we.Action)
		}
		out, err2 := m.AppendTo(nil, o)
		if err2 != nil {
			t.Fatalf("AppendTo of a decoded %s: %v\ninput % x", m.Type(), err2, b)
		}
		if err == nil && len(out) != len(b) {
			t.Fatalf("re-encoded %d bytes from %d\n in % x\nout % x", len(out), len(b), b, out)
		}
		m2, err3 := Parse(out, o)
		if err == nil && err3 != nil {
			t.Fatalf("re-encoded message fails: %v\n in % x\nout % x", err3, b, out)
		}
		if m2 != nil {
			if err == nil {
				// reflect.DeepEqual: go-cmp takes a second on 16,000 prefixes.
				if !reflect.DeepEqual(m, m2) {
					t.Fatalf("round trip differs: %s\n in % x\nout % x", cmp.Diff(m, m2, cmpOpts), b, out)
				}
			} else {
				// An UPDATE kept despite an error may hold an MP attribute
				// received with no flag at all, which re-encodes with the
				// canonical flags (see Attr): compare the encodings.
				out2, err := m2.AppendTo(nil, o)
				if err != nil || !bytes.Equal(out, out2) {
					t.Fatalf("second round trip differs (%v):\n1st % x\n2nd % x", err, out, out2)
				}
			}
		}
		_ = Format(m)
		_ = FormatWith(m, o)
		_ = Summary(m)
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("json: %v", err)
		}
	})
}

// FuzzDecodeReuse: decoding into an Update that held another message gives
// the same result as decoding into a fresh one.
func FuzzDecodeReuse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if len(s) >= HeaderLen && s[18] == byte(TypeUpdate) {
			f.Add(s[HeaderLen:], true)
		}
	}
	first := unhex(f, seedUpdate99)[HeaderLen:]
	f.Fuzz(func(t *testing.T, body []byte, as4 bool) {
		o := &Options{AS4: as4, ExtendedMessage: true}
		var fresh Update
		errFresh := fresh.Decode(body, o)
		var reused Update
		if err := reused.Decode(first, seedOpts); err != nil {
			t.Fatal(err)
		}
		errReused := reused.Decode(body, o)
		if (errFresh == nil) != (errReused == nil) || (errFresh != nil && errFresh.Error() != errReused.Error()) {
			t.Fatalf("errors differ: fresh %v, reused %v", errFresh, errReused)
		}
		var we *Error
		if errFresh != nil && errors.As(errFresh, &we) && we.Action != ActionTreatAsWithdraw && we.Action != ActionAttributeDiscard {
			return
		}
		a, errA := fresh.AppendTo(nil, o)
		b, errB := reused.AppendTo(nil, o)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("encodings differ: %v %v\nfresh  % x\nreused % x", errA, errB, a, b)
		}
	})
}

// FuzzReadMessage: ReadMessage splits any stream into messages whose
// header is valid, or stops with an error.
func FuzzReadMessage(f *testing.F) {
	seeds := fuzzSeeds(f)
	for i, s := range seeds {
		f.Add(append(append([]byte(nil), s...), seeds[(i+1)%len(seeds)]...), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, stream []byte, ext bool) {
		max := MaxMessageLen
		if ext {
			max = MaxExtendedMessageLen
		}
		r := bytes.NewReader(stream)
		var buf []byte
		total := 0
		for {
			m, err := ReadMessage(r, buf, max)
			if err != nil {
				return
			}
			if _, err := ParseHeader(m, max); err != nil {
				t.Fatalf("ReadMessage returned a message with a bad header: %v", err)
			}
			if n := int(m[16])<<8 | int(m[17]); n != len(m) {
				t.Fatalf("message of %d bytes, header says %d", len(m), n)
			}
			total += len(m)
			if total > len(stream) {
				t.Fatal("read more than the stream")
			}
			buf = m
		}
	})
}
