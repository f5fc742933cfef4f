package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// msg builds a message of type typ around body (hex), with a correct
// header length.
func msg(t testing.TB, typ byte, body string) []byte {
	t.Helper()
	bb := unhex(t, body)
	b := appendHeader(nil, Type(typ))
	b = append(b, bb...)
	binary.BigEndian.PutUint16(b[16:], uint16(len(b)))
	return b
}

// upd builds an UPDATE from its withdrawn routes, path attributes and
// NLRI (hex), with correct length fields.
func upd(t testing.TB, withdrawn, attrs, nlri string) []byte {
	t.Helper()
	w, a, n := unhex(t, withdrawn), unhex(t, attrs), unhex(t, nlri)
	body := binary.BigEndian.AppendUint16(nil, uint16(len(w)))
	body = append(body, w...)
	body = binary.BigEndian.AppendUint16(body, uint16(len(a)))
	body = append(body, a...)
	body = append(body, n...)
	return msg(t, 2, hexOf(body))
}

func hexOf(b []byte) string { return string(appendHex(nil, b)) }

func appendHex(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&0xf])
	}
	return dst
}

// open builds an OPEN with version 4, AS 1, hold 180, ID 1.1.1.1 and
// the optional parameters params (hex, Optional Parameters Length
// included).
func open(t testing.TB, params string) []byte {
	return msg(t, 1, "04 0001 00b4 01010101 "+params)
}

// Valid attributes for an IPv4 route on a 2-octet session.
const (
	aOrigin  = "40 01 01 00 "
	aPath    = "40 02 04 02 01 0001 "
	aNextHop = "40 03 04 0a000001 "
	mand     = aOrigin + aPath + aNextHop
	nlri     = "08 0a"
	// An IPv6 MP_REACH_NLRI: 2001:db8::1, 2001:db8:1::/48.
	aReach6 = "80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001 "
)

type malformed struct {
	name    string
	b       []byte
	o       *Options
	code    uint8
	subcode uint8
	action  Action
	data    []byte // checked when not nil
}

func malformedCases(t testing.TB) []malformed {
	as4 := &Options{AS4: true}
	ext := &Options{ExtendedMessage: true}
	bigOpen := append(unhex(t, marker+"1001 01 04 0001 00b4 01010101 00"), make([]byte, 4096-29+1)...)
	binary.BigEndian.PutUint16(bigOpen[16:], uint16(len(bigOpen)))
	return []malformed{
		// Message header (RFC 4271 §6.1).
		{name: "marker not all ones", b: unhex(t, "ffff ffff ffff ffff ffff ffff ffff fffe 0013 04"), code: 1, subcode: 1},
		{name: "length below 19", b: unhex(t, marker+"0012 04"), code: 1, subcode: 2, data: []byte{0, 18}},
		{name: "length above 4096", b: append(unhex(t, marker+"1001 02"), make([]byte, 4097-19)...), code: 1, subcode: 2, data: []byte{0x10, 0x01}},
		{name: "length field not the message length", b: unhex(t, marker+"0014 04"), code: 1, subcode: 2},
		{name: "type 0", b: unhex(t, marker+"0013 00"), code: 1, subcode: 3, data: []byte{0}},
		{name: "type 6", b: unhex(t, marker+"0013 06"), code: 1, subcode: 3, data: []byte{6}},
		{name: "OPEN of 28 bytes", b: msg(t, 1, "04 0001 00b4 01010101"), code: 1, subcode: 2, data: []byte{0, 28}},
		{name: "UPDATE of 22 bytes", b: msg(t, 2, "0000 00"), code: 1, subcode: 2, data: []byte{0, 22}},
		{name: "KEEPALIVE of 20 bytes", b: msg(t, 4, "00"), code: 1, subcode: 2, data: []byte{0, 20}},
		{name: "NOTIFICATION of 20 bytes", b: msg(t, 3, "06"), code: 1, subcode: 2, data: []byte{0, 20}},
		{name: "ROUTE-REFRESH of 22 bytes", b: msg(t, 5, "0001 00"), code: 1, subcode: 2, data: []byte{0, 22}},
		{name: "OPEN over 4096 with extended messages", b: bigOpen, o: ext, code: 1, subcode: 2},

		// OPEN (RFC 4271 §6.2, RFC 5492, RFC 9072, RFC 7607).
		{name: "version 3", b: msg(t, 1, "03 0001 00b4 01010101 00"), code: 2, subcode: 1, data: []byte{0, 4}},
		{name: "hold time 1", b: msg(t, 1, "04 0001 0001 01010101 00"), code: 2, subcode: 6},
		{name: "hold time 2", b: msg(t, 1, "04 0001 0002 01010101 00"), code: 2, subcode: 6},
		{name: "BGP Identifier 0", b: msg(t, 1, "04 0001 00b4 00000000 00"), code: 2, subcode: 3},
		{name: "My AS 0", b: msg(t, 1, "04 0000 00b4 01010101 00"), code: 2, subcode: 2},
		{name: "4-octet AS capability with AS 0", b: open(t, "08 02 06 41 04 00000000"), code: 2, subcode: 2},
		{name: "authentication parameter", b: open(t, "03 01 01 00"), code: 2, subcode: 4},
		{name: "parameter overruns", b: open(t, "04 02 06 41 04"), code: 2, subcode: 0},
		{name: "parameters length short of the message", b: open(t, "02 02 00 41"), code: 2, subcode: 0},
		{name: "capability overruns its parameter", b: open(t, "04 02 02 41 04"), code: 2, subcode: 0},
		{name: "multiprotocol capability of 3 bytes", b: open(t, "05 02 03 01 03 000100"), code: 2, subcode: 0},
		{name: "4-octet AS capability of 2 bytes", b: open(t, "06 02 04 41 02 0001"), code: 2, subcode: 0},
		{name: "graceful restart capability of 3 bytes", b: open(t, "05 02 03 40 01 00"), code: 2, subcode: 0},
		{name: "route refresh capability with a value", b: open(t, "05 02 03 02 01 00"), code: 2, subcode: 0},
		{name: "hostname capability overrun", b: open(t, "06 02 04 49 02 05 61"), code: 2, subcode: 0},
		{name: "extended parameters truncated", b: open(t, "ff ff 00"), code: 2, subcode: 0},
		{name: "extended parameters length mismatch", b: open(t, "ff ff 000a 02 0006 41 04 00000001"), code: 2, subcode: 0},

		// UPDATE framing: a session reset (RFC 4271 §6.3, RFC 7606 §4, §5.3).
		{name: "withdrawn routes length overruns", b: msg(t, 2, "0005 0800 00"), code: 3, subcode: 1},
		{name: "total attribute length overruns", b: msg(t, 2, "0000 0005 4001 0100"), code: 3, subcode: 1},
		{name: "withdrawn prefix /33", b: upd(t, "21 0a000000 00", "", ""), code: 3, subcode: 10},
		{name: "NLRI prefix /40", b: upd(t, "", mand, "28 0a0b0c0d0e"), code: 3, subcode: 10},
		{name: "NLRI prefix truncated", b: upd(t, "", mand, "18 0a0b"), code: 3, subcode: 10},
		{name: "MP_REACH_NLRI overruns the attributes", b: upd(t, "", "80 0e 30 0002 01", ""), code: 3, subcode: 5},
		{name: "unrecognized well-known attribute", b: upd(t, "", mand+"40 63 01 00", nlri), code: 3, subcode: 2, data: []byte{0x40, 0x63, 1, 0}},
		{name: "MP_REACH_NLRI twice", b: upd(t, "", aReach6+aReach6+aOrigin+aPath, ""), code: 3, subcode: 1},
		{name: "MP_REACH_NLRI without AFI/SAFI", b: upd(t, "", "80 0e 02 0002", ""), code: 3, subcode: 9},
		{name: "MP_UNREACH_NLRI without AFI/SAFI", b: upd(t, "", "80 0f 01 00", ""), code: 3, subcode: 9},

		// AFI/SAFI disable (RFC 7606 §7.11, §5.3).
		{name: "MP_REACH_NLRI next hop length 17", b: upd(t, "", "80 0e 1d 0002 01 11 20010db8000000000000000000000001ff 00 30 20010db80001 "+aOrigin+aPath, ""), code: 3, subcode: 9, action: ActionAFISAFIDisable},
		{name: "MP_REACH_NLRI IPv6 with 4-byte next hop", b: upd(t, "", "80 0e 10 0002 01 04 0a000001 00 30 20010db80001 "+aOrigin+aPath, ""), code: 3, subcode: 9, action: ActionAFISAFIDisable},
		{name: "MP_REACH_NLRI next hop overruns", b: upd(t, "", "80 0e 06 0002 01 20 0000", ""), code: 3, subcode: 9, action: ActionAFISAFIDisable},
		{name: "MP_REACH_NLRI prefix /129", b: upd(t, "", "80 0e 17 0002 01 10 20010db8000000000000000000000001 00 81 00 "+aOrigin+aPath, ""), code: 3, subcode: 10, action: ActionAFISAFIDisable},
		{name: "MP_UNREACH_NLRI prefix truncated", b: upd(t, "", "80 0f 05 0002 01 30 2001", ""), code: 3, subcode: 10, action: ActionAFISAFIDisable},

		// Treat-as-withdraw (RFC 7606 §3, §4, §7).
		{name: "attribute header truncated", b: upd(t, "", mand+"40 01", nlri), code: 3, subcode: 1, action: ActionTreatAsWithdraw},
		{name: "attribute overruns the attributes", b: upd(t, "", mand+"80 04 08 0000", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "extended length header truncated", b: upd(t, "", mand+"90 04 00", nlri), code: 3, subcode: 1, action: ActionTreatAsWithdraw},
		{name: "ORIGIN of 2 bytes", b: upd(t, "", "40 01 02 0000 "+aPath+aNextHop, nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw, data: unhex(t, "40 01 02 0000")},
		{name: "ORIGIN 3", b: upd(t, "", "40 01 01 03 "+aPath+aNextHop, nlri), code: 3, subcode: 6, action: ActionTreatAsWithdraw, data: unhex(t, "40 01 01 03")},
		{name: "ORIGIN flagged optional", b: upd(t, "", "c0 01 01 00 "+aPath+aNextHop, nlri), code: 3, subcode: 4, action: ActionTreatAsWithdraw, data: unhex(t, "c0 01 01 00")},
		{name: "NEXT_HOP flagged optional", b: upd(t, "", aOrigin+aPath+"80 03 04 0a000001", nlri), code: 3, subcode: 4, action: ActionTreatAsWithdraw},
		{name: "MED flagged transitive", b: upd(t, "", mand+"c0 04 04 00000000", nlri), code: 3, subcode: 4, action: ActionTreatAsWithdraw},
		{name: "AS_PATH segment overruns", b: upd(t, "", aOrigin+"40 02 04 02 02 0001 "+aNextHop, nlri), code: 3, subcode: 11, action: ActionTreatAsWithdraw},
		{name: "AS_PATH empty segment", b: upd(t, "", aOrigin+"40 02 02 02 00 "+aNextHop, nlri), code: 3, subcode: 11, action: ActionTreatAsWithdraw},
		{name: "AS_PATH segment type 5", b: upd(t, "", aOrigin+"40 02 04 05 01 0001 "+aNextHop, nlri), code: 3, subcode: 11, action: ActionTreatAsWithdraw},
		{name: "AS_PATH single trailing byte", b: upd(t, "", aOrigin+"40 02 05 02 01 0001 02 "+aNextHop, nlri), code: 3, subcode: 11, action: ActionTreatAsWithdraw},
		{name: "AS_PATH holds AS 0", b: upd(t, "", aOrigin+"40 02 06 02 02 0001 0000 "+aNextHop, nlri), code: 3, subcode: 11, action: ActionTreatAsWithdraw},
		{name: "4-octet AS_PATH read as 2-octet overruns", b: upd(t, "", aOrigin+"40 02 06 02 02 00000001 "+aNextHop, nlri), o: as4, code: 3, subcode: 11, action: ActionTreatAsWithdraw},
		{name: "NEXT_HOP of 5 bytes", b: upd(t, "", aOrigin+aPath+"40 03 05 0a00000100", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "NEXT_HOP 0.0.0.0", b: upd(t, "", aOrigin+aPath+"40 03 04 00000000", nlri), code: 3, subcode: 8, action: ActionTreatAsWithdraw, data: unhex(t, "40 03 04 00000000")},
		{name: "NEXT_HOP multicast", b: upd(t, "", aOrigin+aPath+"40 03 04 e0000001", nlri), code: 3, subcode: 8, action: ActionTreatAsWithdraw},
		{name: "NEXT_HOP loopback", b: upd(t, "", aOrigin+aPath+"40 03 04 7f000001", nlri), code: 3, subcode: 8, action: ActionTreatAsWithdraw},
		{name: "MED of 3 bytes", b: upd(t, "", mand+"80 04 03 000000", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "LOCAL_PREF of 0 bytes", b: upd(t, "", mand+"40 05 00", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "COMMUNITIES of 5 bytes", b: upd(t, "", mand+"c0 08 05 0001000200", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "COMMUNITIES of 0 bytes", b: upd(t, "", mand+"c0 08 00", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "ORIGINATOR_ID of 3 bytes", b: upd(t, "", mand+"80 09 03 010101", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "CLUSTER_LIST of 6 bytes", b: upd(t, "", mand+"80 0a 06 010101010202", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "EXTENDED_COMMUNITIES of 12 bytes", b: upd(t, "", mand+"c0 10 0c 000200010000006400020001", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "LARGE_COMMUNITY of 8 bytes", b: upd(t, "", mand+"c0 20 08 0000000100000002", nlri), code: 3, subcode: 5, action: ActionTreatAsWithdraw},
		{name: "ORIGIN missing", b: upd(t, "", aPath+aNextHop, nlri), code: 3, subcode: 3, action: ActionTreatAsWithdraw, data: []byte{1}},
		{name: "AS_PATH missing", b: upd(t, "", aOrigin+aNextHop, nlri), code: 3, subcode: 3, action: ActionTreatAsWithdraw, data: []byte{2}},
		{name: "NEXT_HOP missing", b: upd(t, "", aOrigin+aPath, nlri), code: 3, subcode: 3, action: ActionTreatAsWithdraw, data: []byte{3}},
		{name: "ORIGIN missing with MP_REACH_NLRI", b: upd(t, "", aReach6+aPath, ""), code: 3, subcode: 3, action: ActionTreatAsWithdraw, data: []byte{1}},
		{name: "MP_REACH_NLRI flagged transitive", b: upd(t, "", "c0"+aReach6[2:]+aOrigin+aPath, ""), code: 3, subcode: 4, action: ActionTreatAsWithdraw},
		{name: "no attributes at all with NLRI", b: upd(t, "", "", nlri), code: 3, subcode: 3, action: ActionTreatAsWithdraw, data: []byte{1}},
		{name: "flags error beats attribute discard", b: upd(t, "", mand+"40 06 01 00 c0 04 04 00000000", nlri), code: 3, subcode: 4, action: ActionTreatAsWithdraw},

		// Attribute discard (RFC 7606 §3 g, §7.6, §7.7; RFC 6793 §6; RFC 7607).
		{name: "ORIGIN twice", b: upd(t, "", mand+"40 01 01 02", nlri), code: 3, subcode: 1, action: ActionAttributeDiscard},
		{name: "unknown attribute 222 twice", b: upd(t, "", mand+"c0 de 01 00 c0 de 01 01", nlri), code: 3, subcode: 1, action: ActionAttributeDiscard},
		{name: "ATOMIC_AGGREGATE of 1 byte", b: upd(t, "", mand+"40 06 01 00", nlri), code: 3, subcode: 5, action: ActionAttributeDiscard},
		{name: "AGGREGATOR of 8 bytes on a 2-octet session", b: upd(t, "", mand+"c0 07 08 00000001 01010101", nlri), code: 3, subcode: 5, action: ActionAttributeDiscard},
		{name: "AGGREGATOR of 6 bytes on a 4-octet session", b: upd(t, "", aOrigin+"40 02 06 02 01 00000001 "+aNextHop+"c0 07 06 0001 01010101", nlri), o: as4, code: 3, subcode: 5, action: ActionAttributeDiscard},
		{name: "AGGREGATOR AS 0", b: upd(t, "", mand+"c0 07 06 0000 01010101", nlri), code: 3, subcode: 9, action: ActionAttributeDiscard},
		{name: "AS4_PATH malformed", b: upd(t, "", mand+"c0 11 05 02 01 000001", nlri), code: 3, subcode: 11, action: ActionAttributeDiscard},
		{name: "AS4_PATH holds AS 0", b: upd(t, "", mand+"c0 11 06 02 01 00000000", nlri), code: 3, subcode: 11, action: ActionAttributeDiscard},
		{name: "AS4_AGGREGATOR of 6 bytes", b: upd(t, "", mand+"c0 12 06 0001 01010101", nlri), code: 3, subcode: 5, action: ActionAttributeDiscard},

		// ROUTE-REFRESH (RFC 7313 §5).
		{name: "BoRR of 24 bytes", b: msg(t, 5, "0001 01 01 00"), code: 7, subcode: 1},
		{name: "EoRR of 27 bytes", b: msg(t, 5, "0002 02 01 00000000"), code: 7, subcode: 1},
	}
}

// TestMalformed feeds each malformed message to Parse and checks the
// NOTIFICATION code, subcode, data and RFC 7606 action it yields, that
// errors.Is matches the sentinel, and that only non-fatal UPDATE errors
// come with a message, one that re-encodes without the faulty attribute.
func TestMalformed(t *testing.T) {
	cases := malformedCases(t)
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case %q", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.b, tc.o)
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("Parse(% x) = %v, %v; want a *wire.Error", tc.b, m, err)
			}
			if we.Code != tc.code || we.Subcode != tc.subcode || we.Action != tc.action {
				t.Errorf("got %d/%d %v (%v), want %d/%d %v", we.Code, we.Subcode, we.Action, we, tc.code, tc.subcode, tc.action)
			}
			if tc.data != nil && !bytes.Equal(we.Data, tc.data) {
				t.Errorf("data % x, want % x", we.Data, tc.data)
			}
			if !errors.Is(err, &Error{Code: tc.code, Subcode: tc.subcode}) || !errors.Is(err, CodeClass(tc.code)) {
				t.Errorf("errors.Is does not match %d/%d", tc.code, tc.subcode)
			}
			if we.Reason == "" {
				t.Error("no reason")
			}
			if n := we.Notification(); n.Code != tc.code || n.Subcode != tc.subcode {
				t.Errorf("Notification() = %v", n)
			}
			nonFatal := tc.action == ActionTreatAsWithdraw || tc.action == ActionAttributeDiscard
			if nonFatal != (m != nil) {
				t.Fatalf("Parse returned message %v with a %v error", m, tc.action)
			}
			if m == nil {
				return
			}
			if tc.action == ActionAttributeDiscard {
				if _, ok := m.(*Update).Attr(we.Attr); ok && we.Subcode != SubcodeMalformedAttributeList {
					t.Errorf("the discarded %s is still in the UPDATE", we.Attr)
				}
			}
			b, err := m.AppendTo(nil, tc.o)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if _, err := Parse(b, tc.o); err != nil && tc.action == ActionAttributeDiscard {
				t.Errorf("the UPDATE without the discarded attribute is still faulty: %v", err)
			}
		})
	}
}

// TestTruncations checks that every truncation of a valid message
// fails cleanly, never panics, and yields a NOTIFICATION.
func TestTruncations(t *testing.T) {
	for _, g := range goldens {
		full := unhex(t, g.hex)
		for n := 0; n < len(full); n++ {
			b := append([]byte(nil), full[:n]...)
			if n >= HeaderLen {
				binary.BigEndian.PutUint16(b[16:], uint16(n))
			}
			m, err := Parse(b, seedOpts)
			if err == nil {
				// Some truncations are valid messages (an UPDATE cut between
				// two attributes is not: its lengths say so).
				if _, ok := m.(*Notification); !ok {
					t.Errorf("%s cut at %d: parsed as %v", g.name, n, Summary(m))
				}
				continue
			}
			var we *Error
			if !errors.As(err, &we) {
				t.Errorf("%s cut at %d: %v is not a *wire.Error", g.name, n, err)
			}
		}
	}
}

func TestReadMessageErrors(t *testing.T) {
	var buf []byte
	if _, err := ReadMessage(bytes.NewReader(nil), buf, 0); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	if _, err := ReadMessage(bytes.NewReader(unhex(t, marker+"00")), buf, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut header: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := ReadMessage(bytes.NewReader(unhex(t, seedUpdate94)[:50]), buf, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut body: %v, want io.ErrUnexpectedEOF", err)
	}
	_, err := ReadMessage(bytes.NewReader(unhex(t, marker+"2000 02")), buf, MaxMessageLen)
	if !errors.Is(err, ErrBadMessageLength) {
		t.Errorf("oversized: %v, want Bad Message Length", err)
	}
	_, err = ReadMessage(bytes.NewReader(unhex(t, "00"+marker[2:]+"0013 04")), buf, 0)
	if !errors.Is(err, ErrConnectionNotSynchronized) {
		t.Errorf("bad marker: %v, want Connection Not Synchronized", err)
	}
	// A buffer with room is reused, not reallocated.
	buf = make([]byte, 0, 4096)
	got, err := ReadMessage(bytes.NewReader(unhex(t, seedUpdate94)), buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("ReadMessage did not reuse the buffer")
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse(upd(t, "", aOrigin+"40 02 02 02 00 "+aNextHop, nlri), nil)
	want := "bgp UPDATE Message Error/Malformed AS_PATH (3/11): AS Path (2): segment 1 is empty [treat-as-withdraw]"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if got := BadPeerAS(70000).Notification(); !cmp.Equal(got.Data, []byte{0, 1, 0x11, 0x70}) {
		t.Errorf("BadPeerAS(70000) data % x", got.Data)
	}
	rn := (&Notification{Code: CodeCease, Subcode: SubcodeAdminReset}).Err()
	if !errors.Is(rn, &Error{Code: CodeCease, Subcode: SubcodeAdminReset}) || !errors.Is(rn, ErrCease) {
		t.Errorf("Notification.Err() = %v does not match", rn)
	}
	if errors.Is(rn, ErrBadPeerAS) {
		t.Error("Cease matches Bad Peer AS")
	}
}
