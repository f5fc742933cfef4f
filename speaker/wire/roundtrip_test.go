package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ignoreWireFlags compares a message built by hand (zero WireFlags: the
// canonical flags) with its decoded copy (the flags it was received with).
var ignoreWireFlags = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".WireFlags"
}, cmp.Ignore())

func unhexOrPanic(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func seq(asns ...uint32) ASSegment { return ASSegment{Type: ASSequence, ASNs: asns} }

// allIPv4Attrs holds every attribute type the codec decodes, with AS numbers
// that fit 2 octets so that the same message round-trips in both widths.
func allIPv4Attrs() []Attr {
	return []Attr{
		Origin{Value: OriginIncomplete},
		ASPath{Segments: []ASSegment{
			{Type: ASConfedSequence, ASNs: []uint32{65010, 65011}},
			{Type: ASConfedSet, ASNs: []uint32{65012}},
			seq(65001, 3, 2),
			{Type: ASSet, ASNs: []uint32{7, 8, 9}},
		}},
		NextHop{Addr: addr("192.0.2.1")},
		MED{Value: 50},
		LocalPref{Value: 200},
		AtomicAggregate{},
		Aggregator{AS: 65001, Addr: addr("198.51.100.1")},
		Communities{Values: []Community{65001<<16 | 100, CommunityNoExport, CommunityBlackhole}},
		OriginatorID{ID: addr("10.0.0.9")},
		ClusterList{IDs: []netip.Addr{addr("10.0.0.1"), addr("10.0.0.2")}},
		ExtendedCommunities{Values: []ExtendedCommunity{{0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 100}, {0x01, 0x03, 10, 0, 0, 1, 0, 5}}},
		LargeCommunities{Values: []LargeCommunity{{65001, 1, 2}, {4200000000, 3, 4}}},
		UnknownAttr{TypeCode: 222, WireFlags: FlagOptional | FlagTransitive | FlagPartial, Value: []byte{1, 2, 3}},
		UnknownAttr{TypeCode: 223, WireFlags: FlagOptional, Value: nil},
	}
}

func roundTripMessages() map[string]Message {
	return map[string]Message{
		"update ipv4 all attributes": &Update{
			// /0 comes last: in the middle of a list, tshark's ADD-PATH
			// heuristic takes the bytes around it for a path identifier.
			Withdrawn: []netip.Prefix{prefix("10.1.0.0/16"), prefix("10.2.3.128/25"), prefix("0.0.0.0/0")},
			Attrs:     allIPv4Attrs(),
			NLRI:      []netip.Prefix{prefix("203.0.113.0/24"), prefix("198.51.100.7/32"), prefix("128.0.0.0/1"), prefix("10.0.0.0/9")},
		},
		"update ipv6 mp reach global+link-local": &Update{Attrs: []Attr{
			MPReachNLRI{AFI: AFIIPv6, SAFI: SAFIUnicast,
				NextHops: []netip.Addr{addr("2001:db8::1"), addr("fe80::1")},
				NLRI:     []netip.Prefix{prefix("2001:db8:1::/48"), prefix("2001:db8::1/128"), prefix("2001:db8:8000::/33"), prefix("::/0")}},
			Origin{Value: OriginIGP},
			ASPath{Segments: []ASSegment{seq(1, 2)}},
			LocalPref{Value: 100},
		}},
		"update ipv6 mp reach global only, mp unreach": &Update{Attrs: []Attr{
			MPReachNLRI{AFI: AFIIPv6, SAFI: SAFIUnicast, NextHops: []netip.Addr{addr("2001:db8::1")},
				NLRI: []netip.Prefix{prefix("2001:db8:2::/64")}},
			Origin{Value: OriginEGP},
			ASPath{},
		}},
		"update ipv6 mp unreach": &Update{Attrs: []Attr{
			MPUnreachNLRI{AFI: AFIIPv6, SAFI: SAFIUnicast, Withdrawn: []netip.Prefix{prefix("2001:db8:1::/48")}}}},
		"update ipv4 in mp reach": &Update{Attrs: []Attr{
			MPReachNLRI{AFI: AFIIPv4, SAFI: SAFIUnicast, NextHops: []netip.Addr{addr("192.0.2.1")},
				NLRI: []netip.Prefix{prefix("10.0.0.0/8")}},
			Origin{}, ASPath{Segments: []ASSegment{seq(1)}},
		}},
		"update ipv4 over ipv6 next hop (RFC 8950)": &Update{Attrs: []Attr{
			MPReachNLRI{AFI: AFIIPv4, SAFI: SAFIUnicast, NextHops: []netip.Addr{addr("2001:db8::1"), addr("fe80::2")},
				NLRI: []netip.Prefix{prefix("10.0.0.0/8")}},
			Origin{}, ASPath{Segments: []ASSegment{seq(1)}},
		}},
		"update ipv4 multicast mp unreach": &Update{Attrs: []Attr{
			MPUnreachNLRI{AFI: AFIIPv4, SAFI: SAFIMulticast, Withdrawn: []netip.Prefix{prefix("232.0.0.0/8")}}}},
		"update vpn family kept raw": &Update{Attrs: []Attr{
			// Next hop: RD 0 and 10.0.0.1; NLRI: label 1, RD 65001:100, 10.1.0.0/24.
			MPReachNLRI{AFI: AFIIPv4, SAFI: SAFIVPNUnicast, Raw: unhexOrPanic("0c 0000000000000000 0a000001 00 70 000011 0000fde900000064 0a0100")},
			Origin{}, ASPath{Segments: []ASSegment{seq(1)}},
		}},
		"update vpn mp unreach raw": &Update{Attrs: []Attr{
			// Label 0x800000 (withdrawn), RD 65001:100, 2001:db8:1::/64.
			MPUnreachNLRI{AFI: AFIIPv6, SAFI: SAFIVPNUnicast, Raw: unhexOrPanic("98 800000 0000fde900000064 20010db800010000")}}},
		"end of rib ipv4":   NewEndOfRIB(AFIIPv4, SAFIUnicast),
		"end of rib ipv6":   NewEndOfRIB(AFIIPv6, SAFIUnicast),
		"withdraw only":     &Update{Withdrawn: []netip.Prefix{prefix("10.0.0.0/8")}},
		"keepalive":         &Keepalive{},
		"notification":      &Notification{Code: CodeUpdateMessage, Subcode: SubcodeMalformedASPath},
		"notification data": &Notification{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedCapability, Data: []byte{65, 4, 0, 0, 0, 1}},
		"shutdown":          NewShutdown(SubcodeAdminShutdown, "maintenance until 18:00"),
		"route refresh":     &RouteRefresh{AFI: AFIIPv4, SAFI: SAFIUnicast},
		"borr":              &RouteRefresh{AFI: AFIIPv6, SAFI: SAFIUnicast, Subtype: RefreshBoRR},
		"eorr":              &RouteRefresh{AFI: AFIIPv6, SAFI: SAFIUnicast, Subtype: RefreshEoRR},
		// When-to-refresh IMMEDIATE, ORF type 128 (Cisco prefix list), no entries.
		"route refresh orf": &RouteRefresh{AFI: AFIIPv4, SAFI: SAFIUnicast, ORF: []byte{1, 128, 0, 0}},
		"open every capability": &Open{Version: 4, MyAS: 65001, HoldTime: 90, ID: addr("10.0.0.1"), Capabilities: []Capability{
			CapMultiprotocol{AFI: AFIIPv4, SAFI: SAFIUnicast},
			CapMultiprotocol{AFI: AFIIPv6, SAFI: SAFIUnicast},
			CapRouteRefresh{},
			CapRouteRefresh{CapCode: CapCodeRouteRefreshCisco},
			CapEnhancedRouteRefresh{},
			CapAS4{AS: 65001},
			CapGracefulRestart{Flags: GRRestarting | GRNotification, Time: 4095, Families: []GRFamily{
				{AFI: AFIIPv4, SAFI: SAFIUnicast, Flags: GRForwarding}, {AFI: AFIIPv6, SAFI: SAFIUnicast}}},
			CapExtendedMessage{},
			CapFQDN{Hostname: "as1ra", Domain: "lab.example"},
			CapAddPath{Families: []AddPathFamily{{AFI: AFIIPv4, SAFI: SAFIUnicast, SendReceive: 3}}},
			CapUnknown{CapCode: 71, Data: []byte{0, 1, 1, 0, 0, 0, 0}},
			CapUnknown{CapCode: 200},
		}},
		"open grouped (BIRD layout)": &Open{Version: 4, MyAS: 65002, HoldTime: 240, ID: addr("10.0.0.2"),
			Capabilities: []Capability{CapMultiprotocol{AFI: AFIIPv4, SAFI: SAFIUnicast}, CapRouteRefresh{}, CapAS4{AS: 65002}},
			ParamGroups:  []int{3}},
		"open empty parameter": &Open{Version: 4, MyAS: 65002, HoldTime: 0, ID: addr("10.0.0.2"),
			Capabilities: []Capability{CapAS4{AS: 65002}}, ParamGroups: []int{0, 1}},
		"open no parameters": &Open{Version: 4, MyAS: 1, HoldTime: 3, ID: addr("255.255.255.255")},
		"open extended parameters (RFC 9072)": &Open{Version: 4, MyAS: 1, HoldTime: 180, ID: addr("1.1.1.1"),
			Capabilities: []Capability{CapAS4{AS: 1}}, ExtendedParams: true},
	}
}

// TestRoundTrip encodes every message type with every attribute and
// capability, decodes it, compares, and checks that the decoded message
// re-encodes to the same bytes, in both AS widths.
func TestRoundTrip(t *testing.T) {
	for name, m := range roundTripMessages() {
		for _, o := range []*Options{{AS4: true}, {AS4: false}} {
			t.Run(name+map[bool]string{true: "/as4", false: "/as2"}[o.AS4], func(t *testing.T) {
				b, err := m.AppendTo(nil, o)
				if err != nil {
					t.Fatalf("AppendTo: %v", err)
				}
				got, err := Parse(b, o)
				if err != nil {
					t.Fatalf("Parse: %v\n% x", err, b)
				}
				if diff := cmp.Diff(m, got, cmpOpts, ignoreWireFlags); diff != "" {
					t.Errorf("round trip mismatch (-want +got):\n%s", diff)
				}
				b2, err := got.AppendTo(nil, o)
				if err != nil {
					t.Fatalf("re-encode: %v", err)
				}
				if !bytes.Equal(b, b2) {
					t.Errorf("re-encoding differs:\n got % x\nwant % x", b2, b)
				}
				// Decoded attributes carry the canonical flags.
				if u, ok := m.(*Update); ok {
					for i, a := range u.Attrs {
						if gf, wf := got.(*Update).Attrs[i].Flags(), a.Flags(); gf&^FlagExtendedLength != wf&^FlagExtendedLength {
							t.Errorf("%s: decoded flags [%s], built [%s]", a.Code(), gf, wf)
						}
					}
				}
			})
		}
	}
}

// TestAttrLengths checks that each attribute is encoded with the width its
// AS numbers need: 4 octets with AS4, 2 without.
func TestAttrLengths(t *testing.T) {
	for _, tc := range []struct {
		a        Attr
		as4, as2 string
	}{
		{ASPath{Segments: []ASSegment{seq(1, 70000)}}, "40 02 0a 02 02 00000001 00011170", "40 02 06 02 02 0001 5ba0"},
		{Aggregator{AS: 70000, Addr: addr("1.2.3.4")}, "c0 07 08 00011170 01020304", "c0 07 06 5ba0 01020304"},
		{AS4Path{Segments: []ASSegment{seq(70000)}}, "c0 11 06 02 01 00011170", "c0 11 06 02 01 00011170"},
		{AS4Aggregator{AS: 70000, Addr: addr("1.2.3.4")}, "c0 12 08 00011170 01020304", "c0 12 08 00011170 01020304"},
		{Origin{}, "40 01 01 00", "40 01 01 00"},
		{AtomicAggregate{}, "40 06 00", "40 06 00"},
		{Origin{WireFlags: FlagTransitive | FlagExtendedLength}, "50 01 0001 00", "50 01 0001 00"},
	} {
		for _, w := range []struct {
			o    *Options
			want string
		}{{&Options{AS4: true}, tc.as4}, {nil, tc.as2}} {
			got, err := appendAttr(nil, tc.a, w.o)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, w.want); !bytes.Equal(got, want) {
				t.Errorf("%s as4=%v: got % x, want % x", tc.a.Code(), w.o.as4(), got, want)
			}
		}
	}
}

// TestExtendedLength checks that a value over 255 bytes gets the Extended
// Length flag by itself, and that a received short attribute with the flag
// keeps it (the seed's Quagga).
func TestExtendedLength(t *testing.T) {
	var cs []Community
	for i := range 100 {
		cs = append(cs, Community(i))
	}
	b, err := appendAttr(nil, Communities{Values: cs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "d0 08 0190"); !bytes.Equal(b[:4], want) {
		t.Errorf("header % x, want % x", b[:4], want)
	}
	u := &Update{Attrs: []Attr{Communities{Values: cs}}}
	out, err := u.AppendTo(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := got.(*Update).Communities()
	if c.Flags() != FlagOptional|FlagTransitive|FlagExtendedLength || len(c.Values) != 100 {
		t.Errorf("decoded flags [%s] with %d values", c.Flags(), len(c.Values))
	}
}

// TestLongASPath checks that a sequence over 255 ASes is split into
// segments on the wire and decodes to the same path.
func TestLongASPath(t *testing.T) {
	var asns []uint32
	for i := range 600 {
		asns = append(asns, uint32(i+1))
	}
	p := ASPath{Segments: []ASSegment{seq(asns...)}}
	u := &Update{Attrs: []Attr{Origin{}, p, NextHop{Addr: addr("1.1.1.1")}}, NLRI: []netip.Prefix{prefix("10.0.0.0/8")}}
	b, err := u.AppendTo(nil, &Options{AS4: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b, &Options{AS4: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.(*Update).ASPath()
	if len(got.Segments) != 3 || got.Len() != 600 || got.String() != p.String() {
		t.Errorf("decoded %d segments, length %d", len(got.Segments), got.Len())
	}
	pp := p.Prepend(9, 2)
	if pp.Len() != 602 || len(p.Segments[0].ASNs) != 600 {
		t.Errorf("Prepend: length %d; original now %d", pp.Len(), len(p.Segments[0].ASNs))
	}
	if f, _ := pp.First(); f != 9 {
		t.Errorf("Prepend: first %d", f)
	}
	if s := (ASPath{}).Prepend(1, 1).String(); s != "1" {
		t.Errorf("Prepend on empty path: %q", s)
	}
}

// TestExtendedMessage checks the 4096-byte limit and RFC 8654's 65535.
func TestExtendedMessage(t *testing.T) {
	u := &Update{Attrs: []Attr{Origin{}, ASPath{}, NextHop{Addr: addr("1.1.1.1")}}}
	for i := range 2000 {
		u.NLRI = append(u.NLRI, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
	}
	if _, err := u.AppendTo(nil, nil); !errors.Is(err, ErrTooLong) {
		t.Errorf("AppendTo of %d prefixes without extended messages: %v, want ErrTooLong", len(u.NLRI), err)
	}
	ext := &Options{ExtendedMessage: true}
	b, err := u.AppendTo(nil, ext)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= MaxMessageLen {
		t.Fatalf("message of %d bytes is not extended", len(b))
	}
	if _, err := Parse(b, nil); !errors.Is(err, ErrBadMessageLength) {
		t.Errorf("Parse without extended messages: %v, want Bad Message Length", err)
	}
	m, err := Parse(b, ext)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.(*Update).NLRI); n != 2000 {
		t.Errorf("decoded %d prefixes", n)
	}
	if f := Format(m); !strings.HasPrefix(f, "Update Message (2), length: 8") || strings.Count(f, "\n") < 2000 {
		t.Errorf("Format of an extended message:\n%.200s", f)
	}
	if _, err := ReadMessage(bytes.NewReader(b), nil, MaxExtendedMessageLen); err != nil {
		t.Errorf("ReadMessage: %v", err)
	}
}

func TestNewOpen(t *testing.T) {
	o := NewOpen(4200000000, 90, addr("10.0.0.1"), CapMultiprotocol{AFI: AFIIPv6, SAFI: SAFIUnicast})
	if o.MyAS != ASTrans || o.AS() != 4200000000 {
		t.Errorf("MyAS %d AS() %d", o.MyAS, o.AS())
	}
	b, err := o.AppendTo(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, m, cmpOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	small := NewOpen(65001, 180, addr("10.0.0.1"), CapAS4{AS: 65001})
	if small.MyAS != 65001 || len(small.Capabilities) != 1 {
		t.Errorf("NewOpen(65001): %+v", small)
	}
	peer := NewOpen(65002, 180, addr("10.0.0.2"), CapAS4{AS: 65002}, CapExtendedMessage{})
	if got := Negotiate(small, peer); got != (Options{AS4: true}) {
		t.Errorf("Negotiate = %+v", got)
	}
	// A 2-octet speaker: no AS4 capability.
	old := NewOpen(65003, 180, addr("10.0.0.3"))
	if got := Negotiate(o, old); got != (Options{}) {
		t.Errorf("Negotiate with an old speaker = %+v", got)
	}
	if fs := o.Families(); len(fs) != 1 || fs[0] != IPv6Unicast {
		t.Errorf("Families() = %v", fs)
	}
}

// TestOpenExtendedParamsAuto checks that parameters too long for the
// classic encoding switch to RFC 9072's by themselves.
func TestOpenExtendedParamsAuto(t *testing.T) {
	big := make([]byte, 100)
	o := NewOpen(1, 180, addr("1.1.1.1"), CapUnknown{CapCode: 201, Data: big}, CapUnknown{CapCode: 202, Data: big}, CapUnknown{CapCode: 203, Data: big})
	b, err := o.AppendTo(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b[28] != 255 || b[29] != 255 {
		t.Fatalf("not the extended encoding: % x", b[19:32])
	}
	m, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.(*Open).ExtendedParams {
		t.Error("ExtendedParams not set on decode")
	}
	if diff := cmp.Diff(o.Capabilities, m.(*Open).Capabilities); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestShutdownCommunication(t *testing.T) {
	n := NewShutdown(SubcodeAdminShutdown, "maintenance")
	if got, want := n.String(), `Cease/Administrative Shutdown (6/2): "maintenance"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	long := NewShutdown(SubcodeAdminReset, strings.Repeat("é", 200))
	msg, ok := long.ShutdownMessage()
	if !ok || len(msg) > MaxShutdownMessageLen || !strings.HasPrefix(msg, "éé") {
		t.Errorf("long message: %d bytes, ok %v", len(msg), ok)
	}
	bad := &Notification{Code: CodeCease, Subcode: SubcodeAdminShutdown, Data: []byte{9, 'a'}}
	if _, ok := bad.ShutdownMessage(); ok {
		t.Error("a length byte that overruns the data is a shutdown communication")
	}
	if got, want := bad.String(), "Cease/Administrative Shutdown (6/2): data 0961"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		n    *Notification
		want string
	}{
		{&Notification{Code: CodeCease, Subcode: SubcodeMaxPrefixes, Data: []byte{0, 1, 1, 0, 0, 3, 232}}, "Cease/Maximum Number of Prefixes Reached (6/1): IPv4 Unicast, limit 1000"},
		{&Notification{Code: CodeCease}, "Cease (6/0)"},
		{&Notification{Code: CodeFSM, Subcode: SubcodeUnexpectedInOpenConfirm}, "Finite State Machine Error/Receive Unexpected Message in OpenConfirm State (5/2)"},
		{&Notification{Code: CodeMessageHeader, Subcode: SubcodeBadMessageType, Data: []byte{9}}, "Message Header Error/Bad Message Type (1/3): type 9"},
		{&Notification{Code: 9, Subcode: 9}, "Unknown Error 9/Unknown Subcode 9 (9/9)"},
		{UnsupportedCapability(CapAS4{AS: 1}).Notification(), "OPEN Message Error/Unsupported Capability (2/7): capabilities 32-Bit AS Number"},
	} {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// TestAS4Merge checks RFC 6793 §4.2.3 reconstruction and the encoding
// towards a 2-octet peer.
func TestAS4Merge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  []ASSegment
		path4 []ASSegment
		want  string
	}{
		{"trailing 2-octet speakers", []ASSegment{seq(100, ASTrans, 200, ASTrans)}, []ASSegment{seq(70000, 200, 80000)}, "100 70000 200 80000"},
		{"all new", []ASSegment{seq(ASTrans, ASTrans)}, []ASSegment{seq(70000, 80000)}, "70000 80000"},
		{"as4 path longer: ignored", []ASSegment{seq(ASTrans)}, []ASSegment{seq(70000, 80000)}, "23456"},
		{"set counts one", []ASSegment{seq(5, ASTrans), {Type: ASSet, ASNs: []uint32{ASTrans, 7}}}, []ASSegment{seq(70000), {Type: ASSet, ASNs: []uint32{80000, 7}}}, "5 70000 {80000,7}"},
		{"leading confederation kept", []ASSegment{{Type: ASConfedSequence, ASNs: []uint32{65001}}, seq(ASTrans)}, []ASSegment{seq(70000)}, "(65001) 70000"},
		{"confederation in as4 path dropped", []ASSegment{seq(1, ASTrans)}, []ASSegment{{Type: ASConfedSequence, ASNs: []uint32{9}}, seq(70000)}, "1 70000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeAS4Path(ASPath{Segments: tc.path}, AS4Path{Segments: tc.path4})
			if got.String() != tc.want {
				t.Errorf("MergeAS4Path = %q, want %q", got, tc.want)
			}
		})
	}

	// A NEW speaker sends a path with 4-octet ASes to an OLD peer, which
	// passes the UPDATE on unchanged to a NEW speaker: the path comes back.
	path := ASPath{Segments: []ASSegment{seq(4200000001, 65001, 4200000002)}}
	agg := Aggregator{AS: 4200000003, Addr: addr("10.0.0.3")}
	attrs := []Attr{Origin{}, path, NextHop{Addr: addr("10.0.0.1")}, agg}
	u := &Update{Attrs: For2OctetPeer(attrs), NLRI: []netip.Prefix{prefix("10.9.0.0/16")}}
	if len(attrs) != 4 {
		t.Fatal("For2OctetPeer modified its input")
	}
	old := &Options{AS4: false}
	b, err := u.AppendTo(nil, old)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b, old)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Update)
	if p, _ := got.ASPath(); p.String() != "23456 65001 23456" {
		t.Errorf("2-octet AS_PATH on the wire = %q", p)
	}
	if p, _ := got.EffectiveASPath(old); p.String() != path.String() {
		t.Errorf("EffectiveASPath = %q, want %q", p, path)
	}
	if a, _ := got.Aggregator(); a.AS != ASTrans {
		t.Errorf("2-octet AGGREGATOR AS = %d", a.AS)
	}
	if a, _ := got.EffectiveAggregator(old); a.AS != agg.AS || a.Addr != agg.Addr {
		t.Errorf("EffectiveAggregator = %+v", a)
	}
	// On a 4-octet session AS4_PATH is ignored (RFC 6793 §4.1).
	if p, _ := got.EffectiveASPath(&Options{AS4: true}); p.String() != "23456 65001 23456" {
		t.Errorf("EffectiveASPath with AS4 = %q", p)
	}
	// A path that fits 2 octets needs no AS4_PATH.
	if out := For2OctetPeer([]Attr{ASPath{Segments: []ASSegment{seq(1, 2)}}}); len(out) != 1 {
		t.Errorf("For2OctetPeer added %d attributes to a 2-octet path", len(out)-1)
	}
	// AGGREGATOR that is not AS_TRANS with AS4_AGGREGATOR: both AS4
	// attributes are ignored.
	odd := &Update{Attrs: []Attr{
		ASPath{Segments: []ASSegment{seq(1, 2)}}, Aggregator{AS: 2, Addr: addr("1.1.1.1")},
		AS4Path{Segments: []ASSegment{seq(70000)}}, AS4Aggregator{AS: 70000, Addr: addr("1.1.1.1")},
	}}
	if p, _ := odd.EffectiveASPath(old); p.String() != "1 2" {
		t.Errorf("EffectiveASPath with a real AGGREGATOR = %q", p)
	}
	if a, _ := odd.EffectiveAggregator(old); a.AS != 2 {
		t.Errorf("EffectiveAggregator with a real AGGREGATOR = %d", a.AS)
	}
}

func TestUnknownAttrPropagate(t *testing.T) {
	a := UnknownAttr{TypeCode: 99, WireFlags: FlagOptional | FlagTransitive, Value: []byte{1}}
	p, ok := a.Propagate()
	if !ok || p.Flags() != FlagOptional|FlagTransitive|FlagPartial {
		t.Errorf("Propagate() = [%s], %v", p.Flags(), ok)
	}
	if _, ok := (UnknownAttr{TypeCode: 99, WireFlags: FlagOptional}).Propagate(); ok {
		t.Error("a non-transitive attribute propagates")
	}
}

// TestDecodeReuse decodes into the same Update twice and checks that the
// second decode does not keep anything of the first.
func TestDecodeReuse(t *testing.T) {
	var u Update
	if err := u.Decode(unhex(t, seedUpdate99)[HeaderLen:], seedOpts); err != nil {
		t.Fatal(err)
	}
	if err := u.Decode(unhex(t, seedWithdraw48)[HeaderLen:], seedOpts); err != nil {
		t.Fatal(err)
	}
	want, _ := Parse(unhex(t, seedWithdraw48), seedOpts)
	if diff := cmp.Diff(want, &u, cmpOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAppendToRejects(t *testing.T) {
	for name, m := range map[string]Message{
		"duplicate attribute":   &Update{Attrs: []Attr{Origin{}, Origin{}}},
		"duplicate code 222":    &Update{Attrs: []Attr{UnknownAttr{TypeCode: 222}, Origin{}, UnknownAttr{TypeCode: 222}}},
		"IPv6 prefix in NLRI":   &Update{NLRI: []netip.Prefix{prefix("2001:db8::/32")}},
		"IPv4 prefix in MP v6":  &Update{Attrs: []Attr{MPReachNLRI{AFI: AFIIPv6, SAFI: SAFIUnicast, NextHops: []netip.Addr{addr("2001:db8::1")}, NLRI: []netip.Prefix{prefix("10.0.0.0/8")}}}},
		"no next hop":           &Update{Attrs: []Attr{MPReachNLRI{AFI: AFIIPv6, SAFI: SAFIUnicast}}},
		"IPv6 NEXT_HOP":         &Update{Attrs: []Attr{NextHop{Addr: addr("2001:db8::1")}}},
		"set of 256":            &Update{Attrs: []Attr{ASPath{Segments: []ASSegment{{Type: ASSet, ASNs: make([]uint32, 256)}}}}},
		"segment type 0":        &Update{Attrs: []Attr{ASPath{Segments: []ASSegment{{Type: 0, ASNs: []uint32{1}}}}}},
		"OPEN IPv6 identifier":  &Open{ID: addr("2001:db8::1")},
		"OPEN groups mismatch":  &Open{ID: addr("1.1.1.1"), Capabilities: []Capability{CapAS4{AS: 1}}, ParamGroups: []int{2}},
		"graceful restart time": &Open{ID: addr("1.1.1.1"), Capabilities: []Capability{CapGracefulRestart{Time: 4096}}},
	} {
		if b, err := m.AppendTo([]byte{1, 2, 3}, nil); err == nil || len(b) != 3 {
			t.Errorf("%s: AppendTo = %d bytes, %v; want an error and the buffer untouched", name, len(b), err)
		}
	}
}
