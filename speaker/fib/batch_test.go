package fib

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/speaker/internal/nstest"
)

// Hundreds of routes go to the kernel in batches of batchLen requests per
// system call; every one must land, and a request the kernel refuses fails
// alone, in the middle of a batch or at its end (where its error is the
// batch's only answer).
func TestFIBBatches(t *testing.T) {
	nstest.NeedRoot(t)
	a, _, ifA := pair(t)
	f, err := Open(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			f.Close()
		}
	})
	const n = 3*batchLen + 7 // several full batches and a partial one
	gw4, gw6 := netip.MustParseAddr("10.12.0.2"), netip.MustParseAddr("fe80::b")
	var ops []Op
	var want4, want6 []kroute
	for i := range n {
		p4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100 + byte(i/256), byte(i), 0}), 24)
		p6 := netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", 0x1000+i))
		ops = append(ops, Op{Route: Route{Dst: p4, Gw: gw4, IfIndex: ifA}}, Op{Route: Route{Dst: p6, Gw: gw6, IfIndex: ifA}})
		want4 = append(want4, kroute{Dst: p4.String(), Gw: gw4.String(), Dev: ifA, Priority: Metric})
		want6 = append(want6, kroute{Dst: p6.String(), Gw: gw6.String(), Dev: ifA, Priority: Metric})
	}
	// In the middle of the first batch, a gateway on no connected network:
	// the kernel refuses that route (ENETUNREACH) and only that one.
	// And as the very last request, the one whose answer ends a batch.
	bad := netip.MustParsePrefix("10.250.0.0/24")
	ops = append(ops[:batchLen/2], append([]Op{{Route: Route{Dst: bad, Gw: netip.MustParseAddr("192.0.2.1"), IfIndex: ifA}}}, ops[batchLen/2:]...)...)
	ops = append(ops, Op{Route: Route{Dst: netip.MustParsePrefix("10.251.0.0/24"), Gw: netip.MustParseAddr("192.0.2.2"), IfIndex: ifA}})
	f.Apply(ops)
	f.Sync()
	sortK := func(ks []kroute) []kroute {
		out := append([]kroute(nil), ks...)
		slices.SortFunc(out, func(x, y kroute) int { return strings.Compare(x.Dst, y.Dst) })
		return out
	}
	if diff := cmp.Diff(sortK(want4), sortK(kernelRoutes(t, a, netlink.FAMILY_V4))); diff != "" {
		t.Errorf("IPv4 routes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sortK(want6), sortK(kernelRoutes(t, a, netlink.FAMILY_V6))); diff != "" {
		t.Errorf("IPv6 routes (-want +got):\n%s", diff)
	}
	nerr, last := f.Errors()
	if nerr != 2 || !errors.Is(last, unix.ENETUNREACH) {
		t.Errorf("Errors() = %d, %v; want 2, ENETUNREACH", nerr, last)
	}
	if got := len(f.Installed()); got != 2*n {
		t.Errorf("Installed() has %d routes, want %d", got, 2*n)
	}

	// Delete every other IPv4 route, move the IPv6 ones to a global next
	// hop: one batch of mixed operations.
	ops = ops[:0]
	want4 = want4[:0]
	gw6g := netip.MustParseAddr("2001:db8:12::b")
	want6 = want6[:0]
	for i := range n {
		p4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100 + byte(i/256), byte(i), 0}), 24)
		p6 := netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", 0x1000+i))
		if i%2 == 0 {
			ops = append(ops, Op{Route: Route{Dst: p4}, Delete: true})
		} else {
			want4 = append(want4, kroute{Dst: p4.String(), Gw: gw4.String(), Dev: ifA, Priority: Metric})
		}
		ops = append(ops, Op{Route: Route{Dst: p6, Gw: gw6g, IfIndex: ifA}})
		want6 = append(want6, kroute{Dst: p6.String(), Gw: gw6g.String(), Dev: ifA, Priority: Metric})
	}
	f.Apply(ops)
	f.Sync()
	if diff := cmp.Diff(sortK(want4), sortK(kernelRoutes(t, a, netlink.FAMILY_V4))); diff != "" {
		t.Errorf("IPv4 routes after deletes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sortK(want6), sortK(kernelRoutes(t, a, netlink.FAMILY_V6))); diff != "" {
		t.Errorf("IPv6 routes after replace (-want +got):\n%s", diff)
	}
	if nerr, _ := f.Errors(); nerr != 2 {
		t.Errorf("Errors() = %d after valid operations, want still 2", nerr)
	}

	// Close removes everything, in batches too.
	closed = true
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		if got := kernelRoutes(t, a, fam); len(got) != 0 {
			t.Errorf("%d routes of family %d left after Close, e.g. %v", len(got), fam, got[0])
		}
	}
}

// A refused request's error carries the kernel's extended ack message.
func TestAckError(t *testing.T) {
	body := make([]byte, 4+unix.NLMSG_HDRLEN)
	body = appendAttrBytes(body, unix.NLMSGERR_ATTR_MSG, []byte("Nexthop has invalid gateway\x00"))
	err := ackError(unix.ENETUNREACH, body)
	if !errors.Is(err, unix.ENETUNREACH) || err.Error() != "network is unreachable: Nexthop has invalid gateway" {
		t.Errorf("ackError = %q", err)
	}
	if err := ackError(unix.EEXIST, make([]byte, 4+unix.NLMSG_HDRLEN)); err != unix.EEXIST {
		t.Errorf("ackError without message = %v", err)
	}
}

func appendAttrBytes(b []byte, typ uint16, v []byte) []byte {
	l := unix.SizeofRtAttr + len(v)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for i := l; i < rtaAlign(l); i++ {
		b = append(b, 0)
	}
	return b
}

// Batches queued while the kernel lags are merged: each prefix once, in
// order of first appearance, with its last operation.
func TestMergeBatches(t *testing.T) {
	a, b, c := netip.MustParsePrefix("10.1.0.0/24"), netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("10.3.0.0/24")
	gw1, gw2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	batches := [][]Op{
		{{Route: Route{Dst: a, Gw: gw1}}, {Route: Route{Dst: b}, Delete: true}},
		{{Route: Route{Dst: a, Gw: gw2}}, {Route: Route{Dst: c, Gw: gw1}}},
		{{Route: Route{Dst: b, Gw: gw2}}},
	}
	want := []Op{{Route: Route{Dst: a, Gw: gw2}}, {Route: Route{Dst: b, Gw: gw2}}, {Route: Route{Dst: c, Gw: gw1}}}
	opts := []cmp.Option{cmp.Comparer(func(x, y netip.Addr) bool { return x == y }), cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })}
	// Twice: the second merge reuses the first's scratch space.
	for i := range 2 {
		m := merge(batches)
		if diff := cmp.Diff(want, m.ops, opts...); diff != "" {
			t.Errorf("merge %d (-want +got):\n%s", i, diff)
		}
		m.put()
	}
}

// NewBatch gives slices of its capacity classes; written ones come back
// cleared, others (grown, or too large) are not kept.
func TestRecycleBatches(t *testing.T) {
	for _, tc := range []struct{ n, cap int }{{0, 16}, {1, 16}, {16, 16}, {17, 32}, {1000, 1024}, {16384, 16384}, {16385, 16385}} {
		if b := NewBatch(tc.n); len(b) != 0 || cap(b) != tc.cap {
			t.Errorf("NewBatch(%d): len %d cap %d, want 0 and %d", tc.n, len(b), cap(b), tc.cap)
		}
	}
	// A pool may drop what it holds at any time (a collection): look
	// for the recycled slice among a few.
	b := NewBatch(100)
	b = append(b, Op{Route: Route{Gw: netip.MustParseAddr("10.0.0.1")}})
	recycle(b)
	recycle(make([]Op, 3, 100)) // not a class's capacity
	for range 4 {
		c := NewBatch(100)
		if cap(c) != 128 || len(c) != 0 {
			t.Fatalf("NewBatch(100): len %d cap %d", len(c), cap(c))
		}
		if c[:1][0].Route.Gw.IsValid() {
			t.Errorf("a recycled batch was not cleared: %+v", c[:1][0])
		}
	}
}
