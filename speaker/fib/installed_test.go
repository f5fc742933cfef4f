package fib

import (
	"net/netip"
	"testing"

	"lab/speaker/internal/prefixkey"
)

// The installed table stores routes in a pointer-free form; every route
// must come back as it went in, and routes that differ must stay apart.
func TestInstalledForm(t *testing.T) {
	routes := []Route{
		{Dst: netip.MustParsePrefix("10.1.0.0/24"), Gw: netip.MustParseAddr("10.12.0.2"), IfIndex: 3},
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("10.12.0.2"), IfIndex: 3},
		{Dst: netip.MustParsePrefix("2001:1234:2::/64"), Gw: netip.MustParseAddr("fe80::1:2ff:fe00:101"), IfIndex: 2},
		{Dst: netip.MustParsePrefix("::/0"), Gw: netip.MustParseAddr("2001:12::b"), IfIndex: 2},
		{Dst: netip.MustParsePrefix("10.9.0.0/16"), IfIndex: 4},
		// An IPv6 prefix and next hop that map IPv4 ones: not the same.
		{Dst: netip.MustParsePrefix("::ffff:10.1.0.0/120"), Gw: netip.MustParseAddr("::ffff:10.12.0.2"), IfIndex: 3},
	}
	keys := map[prefixkey.Key]bool{}
	vals := map[routeVal]bool{}
	for _, r := range routes {
		k, v := prefixkey.Of(r.Dst), valOf(r)
		if got := v.route(k.Prefix()); got != r {
			t.Errorf("%+v comes back as %+v", r, got)
		}
		keys[k], vals[v] = true, true
	}
	if len(keys) != len(routes) {
		t.Errorf("%d distinct keys for %d distinct prefixes", len(keys), len(routes))
	}
	if len(vals) != 5 {
		t.Errorf("%d distinct values, want 5 (two routes share a next hop)", len(vals))
	}
}
