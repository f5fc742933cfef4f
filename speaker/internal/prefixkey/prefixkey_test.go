package prefixkey

import (
	"net/netip"
	"testing"
)

// A key gives back the prefix it was made of, IPv4 prefixes apart from
// the IPv4-mapped IPv6 ones.
func TestKeys(t *testing.T) {
	ps := []string{"10.1.0.0/24", "0.0.0.0/0", "2001:db8::/32", "::/0", "::ffff:10.1.0.0/120", "10.1.0.0/16", "2001:db8::1/128"}
	seen := map[Key]string{}
	for _, s := range ps {
		p := netip.MustParsePrefix(s)
		k := Of(p)
		if got := k.Prefix(); got != p {
			t.Errorf("Of(%v).Prefix() = %v", p, got)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%v and %v have one key", other, s)
		}
		seen[k] = s
	}
}
