package wire

import (
	"fmt"
	"net/netip"
	"slices"
)

// decodePrefixes appends to dst the prefixes encoded in b as (length,
// prefix) pairs (RFC 4271 §4.3, RFC 4760 §5). v6 selects 128-bit prefixes.
// Trailing bits past the length are cleared: RFC 4271 makes them
// irrelevant. It allocates nothing when dst has room.
func decodePrefixes(dst []netip.Prefix, b []byte, v6 bool) ([]netip.Prefix, error) {
	maxBits := 32
	if v6 {
		maxBits = 128
	}
	// Size dst once: a packed 64 KB UPDATE holds 16,000 prefixes, and
	// growing by doubling would copy them over and over.
	n := 0
	for i := 0; i < len(b); i += 1 + (int(b[i])+7)/8 {
		n++
	}
	dst = slices.Grow(dst, n)
	for i := 0; i < len(b); {
		bits := int(b[i])
		if bits > maxBits {
			return dst, fmt.Errorf("prefix length %d exceeds %d at offset %d", bits, maxBits, i)
		}
		n := (bits + 7) / 8
		if len(b)-i-1 < n {
			return dst, fmt.Errorf("prefix /%d needs %d bytes but %d remain at offset %d", bits, n, len(b)-i-1, i)
		}
		var addr netip.Addr
		if v6 {
			var a [16]byte
			copy(a[:n], b[i+1:i+1+n])
			if r := bits % 8; r != 0 {
				a[n-1] &= 0xff << (8 - r)
			}
			addr = netip.AddrFrom16(a)
		} else {
			var a [4]byte
			copy(a[:n], b[i+1:i+1+n])
			if r := bits % 8; r != 0 {
				a[n-1] &= 0xff << (8 - r)
			}
			addr = netip.AddrFrom4(a)
		}
		dst = append(dst, netip.PrefixFrom(addr, bits))
		i += 1 + n
	}
	return dst, nil
}

// AppendPrefix appends p as NLRI encodes a prefix (RFC 4271 section 4.3,
// RFC 4760 section 5): its length in bits and the fewest bytes that hold
// it, bits past the length cleared.
func AppendPrefix(b []byte, p netip.Prefix) []byte {
	bits := p.Bits()
	n := (bits + 7) / 8
	b = append(b, byte(bits))
	if p.Addr().Is4() {
		a := p.Addr().As4()
		b = append(b, a[:n]...)
	} else {
		a := p.Addr().As16()
		b = append(b, a[:n]...)
	}
	if r := bits % 8; r != 0 {
		b[len(b)-1] &= 0xff << (8 - r)
	}
	return b
}

// appendPrefixes appends ps, which must all be of the family v6 says.
func appendPrefixes(b []byte, ps []netip.Prefix, v6 bool, what string) ([]byte, error) {
	for _, p := range ps {
		if !p.IsValid() || p.Addr().Is4() == v6 || p.Addr().Zone() != "" {
			fam := "IPv4"
			if v6 {
				fam = "IPv6"
			}
			return b, fmt.Errorf("%s: %v is not an %s prefix", what, p, fam)
		}
		b = AppendPrefix(b, p)
	}
	return b, nil
}
