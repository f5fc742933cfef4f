// Package prefixkey holds Key, a prefix without pointers: a map keyed by
// it is never scanned by the garbage collector (a netip.Prefix holds its
// address's zone handle), and a key is 18 bytes instead of 32. The RIB's
// destinations and the FIB's installed routes, a million each with a full
// table, are kept in such maps.
package prefixkey

import "net/netip"

// Key is a prefix as a comparable value without pointers.
type Key struct {
	addr [16]byte
	bits uint8
	is4  bool
}

// Of returns the key of p. An IPv4 prefix and the IPv4-mapped IPv6 prefix
// of the same bits have different keys.
func Of(p netip.Prefix) Key {
	return Key{addr: p.Addr().As16(), bits: uint8(p.Bits()), is4: p.Addr().Is4()}
}

// Prefix returns the prefix k was made of.
func (k Key) Prefix() netip.Prefix {
	a := netip.AddrFrom16(k.addr)
	if k.is4 {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(k.bits))
}
