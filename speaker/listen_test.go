package speaker

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"lab/speaker/internal/nstest"
)

// A speaker listens on the address families of its peers only, and holds
// no descriptor on its namespace once it runs: a lab of thousands of
// routers runs out of descriptors otherwise. An IPv6-only speaker refuses
// an IPv4 connection in the kernel (no listener), an IPv4-only one an
// IPv6 connection.
func TestListenFamiliesOfPeers(t *testing.T) {
	nstest.NeedRoot(t)
	sfx := nstest.Suffix()
	n6 := nstest.New(t, "spk-"+sfx+"-l6")
	n4 := nstest.New(t, "spk-"+sfx+"-l4")
	mk := func(ns *nstest.NS, id string, p PeerConfig) Config {
		// Passive: the speaker never dials, so nothing opens its
		// namespace while the test looks.
		p.PeerAS, p.Passive = 2, true
		return Config{Name: ns.Name, AS: 1, RouterID: netip.MustParseAddr(id), Namespace: ns.Path, Peers: []PeerConfig{p}}
	}
	runSpeakers(t,
		mk(n6, "1.1.1.1", PeerConfig{LocalAddr: netip.MustParseAddr("::1"), PeerAddr: netip.MustParseAddr("2001:db8:7::2")}),
		mk(n4, "1.1.1.2", PeerConfig{LocalAddr: netip.MustParseAddr("127.0.0.1"), PeerAddr: netip.MustParseAddr("10.7.0.2")}))

	dial := func(ns *nstest.NS, addr string) error {
		return ns.Do(func() error {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	for _, tt := range []struct {
		ns      *nstest.NS
		open    string
		refused string
	}{
		{n6, "[::1]:179", "127.0.0.1:179"},
		{n4, "127.0.0.1:179", "[::1]:179"},
	} {
		if err := dial(tt.ns, tt.open); err != nil {
			t.Errorf("%s: connecting to %s: %v", tt.ns.Name, tt.open, err)
		}
		if err := dial(tt.ns, tt.refused); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: connecting to %s: %v, want connection refused (no listener of that family)", tt.ns.Name, tt.refused, err)
		}
	}

	// The FIB, the tracker and the session engine have the namespace
	// through their sockets, not through a descriptor on it.
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && (target == n6.Path || target == n4.Path) {
			t.Errorf("descriptor %s is open on %s while the speaker runs", fd.Name(), target)
		}
	}
}
