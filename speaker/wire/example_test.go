package wire_test

import (
	"errors"
	"fmt"
	"net/netip"

	"lab/speaker/wire"
)

// A speaker announces 2001:1234:1::/64 over IPv6 as the seed's as1ra does,
// and the peer decodes it.
func ExampleUpdate_AppendTo() {
	u := &wire.Update{Attrs: []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast,
			NextHops: []netip.Addr{netip.MustParseAddr("2001:12::a"), netip.MustParseAddr("fe80::20ca:6fff:fe8a:98a4")},
			NLRI:     []netip.Prefix{netip.MustParsePrefix("2001:1234:1::/64")}},
		wire.Origin{Value: wire.OriginIGP},
		wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{1}}}},
	}}
	o := &wire.Options{AS4: true}
	b, err := u.AppendTo(nil, o)
	if err != nil {
		panic(err)
	}
	m, err := wire.Parse(b, o)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(b), "bytes:", wire.Summary(m))
	// Output: 85 bytes: UPDATE 2001:1234:1::/64 nh 2001:12::a path 1
}

// A session matches wire errors by code and subcode, and answers with the
// NOTIFICATION the error carries.
func ExampleError() {
	keepalive := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 20, 4, 0}
	_, err := wire.Parse(keepalive, nil)
	fmt.Println(errors.Is(err, wire.ErrBadMessageLength), errors.Is(err, wire.ErrMessageHeader))
	var we *wire.Error
	if errors.As(err, &we) {
		fmt.Println(we.Notification())
	}
	fmt.Println(wire.BadPeerAS(22).Notification())
	// Output:
	// true true
	// Message Header Error/Bad Message Length (1/2): length 20
	// OPEN Message Error/Bad Peer AS (2/2): peer AS 22
}

// An UPDATE with a malformed attribute comes back decoded, with the
// RFC 7606 action to take.
func ExampleParse_treatAsWithdraw() {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 45, 2,
		0, 0, // no withdrawn routes
		0, 18, // path attributes
		0x40, 1, 1, 7, // ORIGIN 7: undefined
		0x40, 2, 4, 2, 1, 0, 2, // AS_PATH 2
		0x40, 3, 4, 10, 0, 0, 1, // NEXT_HOP 10.0.0.1
		24, 192, 0, 2, // 192.0.2.0/24
	}
	m, err := wire.Parse(b, nil)
	var we *wire.Error
	if errors.As(err, &we) && we.Action == wire.ActionTreatAsWithdraw {
		fmt.Println("withdraw", m.(*wire.Update).NLRI, "because", we)
	}
	// Output: withdraw [192.0.2.0/24] because bgp UPDATE Message Error/Invalid ORIGIN Attribute (3/6): Origin (1): undefined value 7 [treat-as-withdraw]
}
