package fib

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/speaker/internal/nstest"
)

// The tracker's socket filter keeps the notifications of our own routes
// out of its socket, and lets every other route change in.
func TestTrackerIgnoresOwnRoutes(t *testing.T) {
	nstest.NeedRoot(t)
	a, _, ifA := pair(t)
	var own atomic.Int64
	marker := make(chan struct{})
	var markerSeen atomic.Bool
	hook := func(msg []byte) {
		if len(msg) < unix.NLMSG_HDRLEN+unix.SizeofRtMsg {
			return
		}
		typ := binary.NativeEndian.Uint16(msg[4:])
		if typ != unix.RTM_NEWROUTE && typ != unix.RTM_DELROUTE {
			return
		}
		rt := msg[unix.NLMSG_HDRLEN:]
		switch {
		case rt[5] == Protocol:
			own.Add(1)
		case rt[5] == unix.RTPROT_STATIC && rt[1] == 24 && !markerSeen.Swap(true):
			close(marker)
		}
	}
	monitorHook.Store(&hook)
	t.Cleanup(func() { monitorHook.Store(nil) })
	tr, err := NewTracker(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	f, err := Open(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var ops []Op
	for i := range 100 {
		ops = append(ops,
			Op{Route: Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i), 0}), 24), Gw: netip.MustParseAddr("10.12.0.2"), IfIndex: ifA}},
			Op{Route: Route{Dst: netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x::/48", 0x2000+i)), Gw: netip.MustParseAddr("fe80::b"), IfIndex: ifA}})
	}
	f.Apply(ops)
	f.Sync()
	// A route of another protocol after ours: once the tracker's socket
	// delivered it, everything queued before it was delivered too.
	static := &netlink.Route{Dst: prefixIPNet(netip.MustParsePrefix("10.77.0.0/24")), Gw: netip.MustParseAddr("10.12.0.2").AsSlice(),
		LinkIndex: ifA, Protocol: unix.RTPROT_STATIC, Table: unix.RT_TABLE_MAIN}
	if err := a.H.RouteAdd(static); err != nil {
		t.Fatal(err)
	}
	select {
	case <-marker:
	case <-time.After(10 * time.Second):
		t.Fatal("the tracker's socket never delivered the static route's notification")
	}
	if n := own.Load(); n != 0 {
		t.Errorf("%d notifications of our own routes reached the tracker, want 0", n)
	}
	waitResolve(t, tr, netip.MustParseAddr("10.77.0.1"), true)
	if _, ok := tr.Resolve(netip.MustParseAddr("10.200.5.1")); ok {
		t.Error("next hop resolved over a route of protocol 200")
	}
}
