package wire

import (
	"net/netip"
	"testing"
)

var benchOpts = &Options{AS4: true}

// benchIPv4 is a typical eBGP IPv4 UPDATE: one prefix with ORIGIN, a
// three-AS path, NEXT_HOP, MED and two communities.
func benchIPv4() *Update {
	return &Update{
		Attrs: []Attr{
			Origin{Value: OriginIGP},
			ASPath{Segments: []ASSegment{seq(65001, 65002, 65003)}},
			NextHop{Addr: addr("192.0.2.1")},
			MED{Value: 0},
			Communities{Values: []Community{65001<<16 | 100, CommunityNoExport}},
		},
		NLRI: []netip.Prefix{prefix("203.0.113.0/24")},
	}
}

// benchIPv6 is the seed's UPDATE: MP_REACH_NLRI with a global and a
// link-local next hop, ORIGIN, AS_PATH, MED.
func benchIPv6(b *testing.B) *Update {
	m, err := Parse(unhex(b, seedUpdate94), seedOpts)
	if err != nil {
		b.Fatal(err)
	}
	return m.(*Update)
}

// benchPacked is an UPDATE packed with 1,000 IPv4 /24 prefixes, which
// fills a 4096-byte message.
func benchPacked() *Update {
	u := &Update{Attrs: []Attr{
		Origin{Value: OriginIGP},
		ASPath{Segments: []ASSegment{seq(65001, 65002)}},
		NextHop{Addr: addr("192.0.2.1")},
	}}
	for i := range 1000 {
		u.NLRI = append(u.NLRI, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
	}
	return u
}

func benchDecode(b *testing.B, u *Update) {
	msg, err := u.AppendTo(nil, benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	body := msg[HeaderLen:]
	var d Update
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(body, benchOpts); err != nil {
			b.Fatal(err)
		}
	}
	if len(d.NLRI) != len(u.NLRI) {
		b.Fatalf("decoded %d prefixes, want %d", len(d.NLRI), len(u.NLRI))
	}
}

func benchEncode(b *testing.B, u *Update) {
	buf := make([]byte, 0, MaxMessageLen)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := u.AppendTo(buf[:0], benchOpts)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}

func BenchmarkDecodeUpdateIPv4(b *testing.B)       { benchDecode(b, benchIPv4()) }
func BenchmarkDecodeUpdateIPv6(b *testing.B)       { benchDecode(b, benchIPv6(b)) }
func BenchmarkDecodeUpdatePacked1000(b *testing.B) { benchDecode(b, benchPacked()) }
func BenchmarkEncodeUpdateIPv4(b *testing.B)       { benchEncode(b, benchIPv4()) }
func BenchmarkEncodeUpdateIPv6(b *testing.B)       { benchEncode(b, benchIPv6(b)) }
func BenchmarkEncodeUpdatePacked1000(b *testing.B) { benchEncode(b, benchPacked()) }

// BenchmarkParseUpdateIPv6 is the path of a session that does not reuse:
// Parse allocates a new Update each time.
func BenchmarkParseUpdateIPv6(b *testing.B) {
	msg := unhex(b, seedUpdate94)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(msg, seedOpts); err != nil {
			b.Fatal(err)
		}
	}
}
