// Package nstest builds throwaway network namespaces, veth pairs and
// addresses for the speaker's kernel tests, with plain netlink. Every
// namespace is named like the test run's (lab/internal/testrun) and
// recorded in its state file before it is created, and everything is
// removed at cleanup, even when the test fails or the binary is
// interrupted; `lab clean` removes it if the binary is killed. A package
// using it calls testrun.Main from its TestMain.
package nstest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
	"lab/internal/testrun"
)

// NeedRoot skips the test when it cannot create namespaces.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
}

// Suffix returns a short random string to make names unique to a run.
func Suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NS is a namespace made for a test.
type NS struct {
	// Name is the registered name, "<run>-<n>-<the caller's name>".
	Name string
	Path string
	H    *netlink.Handle
	ns   *nsthread.NS
}

// New creates a namespace called "<run>-<n>-name", registered under
// /run/netns, brings its loopback up, enables forwarding, and registers
// its removal.
func New(t testing.TB, name string) *NS {
	t.Helper()
	NeedRoot(t)
	name = testrun.Name(t) + "-" + name
	// Registered first, so it runs last: after the handles are closed.
	path := testrun.Namespace(t, name)
	h, err := newNamed(name)
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	ns := &NS{Name: name, Path: path, ns: nsthread.FromFd(int(h), path)}
	testrun.Cleanup(t, func() {
		if ns.H != nil {
			ns.H.Close()
		}
		ns.ns.Close()
	})
	// The handle's socket is created inside, and stays there.
	err = ns.Do(func() error {
		var err error
		ns.H, err = netlink.NewHandle()
		return err
	})
	if err != nil {
		t.Fatalf("netlink in %s: %v", name, err)
	}
	lo, err := ns.H.LinkByName("lo")
	if err == nil {
		err = ns.H.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("lo up in %s: %v", name, err)
	}
	ns.Sysctl(t, "net/ipv6/conf/all/forwarding", "1")
	ns.Sysctl(t, "net/ipv4/ip_forward", "1")
	ns.Sysctl(t, "net/ipv6/conf/default/accept_dad", "0")
	ns.Sysctl(t, "net/ipv6/conf/all/keep_addr_on_down", "1")
	ns.Sysctl(t, "net/ipv6/conf/default/keep_addr_on_down", "1")
	return ns
}

// newNamed creates a named namespace on a throwaway OS thread, so the
// caller's thread never changes namespace.
func newNamed(name string) (netns.NsHandle, error) {
	var h netns.NsHandle
	err := nsthread.Throwaway(func() error {
		var err error
		h, err = netns.NewNamed(name)
		return err
	})
	return h, err
}

// Do runs f on an OS thread inside the namespace.
func (ns *NS) Do(f func() error) error { return ns.ns.Run(f) }

// Sysctl writes /proc/sys/key inside the namespace.
func (ns *NS) Sysctl(t testing.TB, key, val string) {
	t.Helper()
	err := ns.Do(func() error {
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644)
	})
	if err != nil {
		t.Fatalf("sysctl %s in %s: %v", key, ns.Name, err)
	}
}

// Veth creates a veth pair aName (in a) <-> bName (in b), both up.
func Veth(t testing.TB, a *NS, aName string, b *NS, bName string) {
	t.Helper()
	la := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName, PeerNamespace: netlink.NsFd(b.ns.Fd())}
	if err := a.H.LinkAdd(la); err != nil {
		t.Fatalf("veth %s-%s: %v", aName, bName, err)
	}
	a.SetUp(t, aName, true)
	b.SetUp(t, bName, true)
}

// Link returns the interface called name.
func (ns *NS) Link(t testing.TB, name string) netlink.Link {
	t.Helper()
	l, err := ns.H.LinkByName(name)
	if err != nil {
		t.Fatalf("%s: link %s: %v", ns.Name, name, err)
	}
	return l
}

// SetUp sets interface name administratively up or down.
func (ns *NS) SetUp(t testing.TB, name string, up bool) {
	t.Helper()
	l := ns.Link(t, name)
	var err error
	if up {
		err = ns.H.LinkSetUp(l)
	} else {
		err = ns.H.LinkSetDown(l)
	}
	if err != nil {
		t.Fatalf("%s: set %s up=%v: %v", ns.Name, name, up, err)
	}
}

// Addr adds p to interface name, usable at once (no DAD).
func (ns *NS) Addr(t testing.TB, name string, p netip.Prefix) {
	t.Helper()
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := ns.H.AddrAdd(ns.Link(t, name), a); err != nil {
		t.Fatalf("%s: add %v to %s: %v", ns.Name, p, name, err)
	}
}

// Dummy creates a dummy interface called name, up, holding p (a LAN
// stand-in).
func Dummy(t testing.TB, ns *NS, name string, p ...netip.Prefix) {
	t.Helper()
	if err := ns.H.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		t.Fatalf("%s: dummy %s: %v", ns.Name, name, err)
	}
	ns.SetUp(t, name, true)
	for _, x := range p {
		ns.Addr(t, name, x)
	}
}

// LinkLocal returns the first IPv6 link-local address of interface name.
func (ns *NS) LinkLocal(t testing.TB, name string) netip.Addr {
	t.Helper()
	as, err := ns.H.AddrList(ns.Link(t, name), netlink.FAMILY_V6)
	if err != nil {
		t.Fatalf("%s: addresses of %s: %v", ns.Name, name, err)
	}
	for _, a := range as {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
			return ip
		}
	}
	return netip.Addr{}
}

// Routes returns the namespace's main-table routes of protocol proto.
func (ns *NS) Routes(t testing.TB, family, proto int) []netlink.Route {
	t.Helper()
	rs, err := ns.H.RouteListFiltered(family, &netlink.Route{Protocol: netlink.RouteProtocol(proto), Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("%s: routes: %v", ns.Name, err)
	}
	return rs
}
