package fib

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lab/speaker/internal/nstest"
)

// Our own routes never reach the tracker: the hub does not listen to
// routes at all (monitorGroups), and a tracker's own socket filters them
// out in the kernel. An address change does reach it, and the connected
// route that came with the address is in its view.
func TestTrackerIgnoresOwnRoutes(t *testing.T) {
	t.Run("hub", func(t *testing.T) { testTrackerIgnoresOwnRoutes(t) })
	t.Run("own socket", func(t *testing.T) {
		noHub = true
		t.Cleanup(func() { noHub = false })
		testTrackerIgnoresOwnRoutes(t)
	})
}

func testTrackerIgnoresOwnRoutes(t *testing.T) {
	nstest.NeedRoot(t)
	a, _, ifA := pair(t)
	var own atomic.Int64
	marker := make(chan struct{})
	var markerSeen atomic.Bool
	hook := func(msg []byte) {
		if len(msg) < unix.NLMSG_HDRLEN+unix.SizeofRtMsg {
			return
		}
		switch typ := binary.NativeEndian.Uint16(msg[4:]); typ {
		case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
			if msg[unix.NLMSG_HDRLEN+5] == Protocol {
				own.Add(1)
			}
		case unix.RTM_NEWADDR:
			// struct ifaddrmsg: family, prefix length, flags, scope, index.
			ifa := msg[unix.NLMSG_HDRLEN:]
			if ifa[0] == unix.AF_INET && ifa[1] == 24 && int(binary.NativeEndian.Uint32(ifa[4:])) == ifA && !markerSeen.Swap(true) {
				close(marker)
			}
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
	// An address after our routes: once its notification arrived,
	// everything sent before it was delivered too.
	a.Addr(t, "fa", netip.MustParsePrefix("10.77.0.1/24"))
	select {
	case <-marker:
	case <-time.After(10 * time.Second):
		t.Fatal("the tracker never got the new address's notification")
	}
	if n := own.Load(); n != 0 {
		t.Errorf("%d notifications of our own routes reached the tracker, want 0", n)
	}
	waitResolve(t, tr, netip.MustParseAddr("10.77.0.5"), true)
	if _, ok := tr.Resolve(netip.MustParseAddr("10.200.5.1")); ok {
		t.Error("next hop resolved over a route of protocol 200")
	}
}
