package topo

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// u128 is an address as a 128-bit integer (IPv4 in the low 32 bits), for
// the arithmetic netip does not offer.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var u u128
	for i := 0; i < 8; i++ {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

func fromU128(u u128, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(u.lo >> 24), byte(u.lo >> 16), byte(u.lo >> 8), byte(u.lo)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(u.hi >> (8 * i))
		b[15-i] = byte(u.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// add returns u+v and whether it overflowed 128 bits.
func (u u128) add(v u128) (u128, bool) {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, c := bits.Add64(u.hi, v.hi, c)
	return u128{hi, lo}, c != 0
}

// pow2 is 2**n for n in [0, 127].
func pow2(n int) u128 {
	if n >= 64 {
		return u128{hi: 1 << (n - 64)}
	}
	return u128{lo: 1 << n}
}

func addrBits(a netip.Addr) int {
	if a.Is4() {
		return 32
	}
	return 128
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	is4 := p.Addr().Is4()
	host := addrBits(p.Addr()) - p.Bits()
	if host == 0 {
		return p.Addr()
	}
	// 2**host - 1: the host bits all ones.
	var span u128
	switch {
	case host >= 128:
		span = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		span = u128{hi: 1<<(host-64) - 1, lo: ^uint64(0)}
	default:
		span = u128{lo: 1<<host - 1}
	}
	u, _ := toU128(p.Addr()).add(span)
	return fromU128(u, is4)
}

// offsetAddr returns the address i places into p (p.Addr() itself for 0).
func offsetAddr(p netip.Prefix, i uint64) (netip.Addr, bool) {
	a := p.Masked().Addr()
	u, over := toU128(a).add(u128{lo: i})
	out := fromU128(u, a.Is4())
	if over || !p.Contains(out) {
		return netip.Addr{}, false
	}
	return out, true
}

// ifaceAddrProblem says why p cannot be an interface address with its
// subnet, or "" when it can.
func ifaceAddrProblem(p netip.Prefix) string {
	a := p.Addr()
	net := p.Masked()
	switch {
	case a.Is4In6():
		return "is an IPv4-mapped IPv6 address; write the IPv4 address itself"
	case a.IsUnspecified():
		return "is the unspecified address"
	case a.IsLoopback():
		return "is a loopback address"
	case a.IsMulticast():
		return "is a multicast address"
	case a.IsLinkLocalUnicast():
		return "is a link-local address (the kernel gives every interface its IPv6 link-local address; write global ones)"
	case a.Is4() && zeroNet4.Contains(a):
		return "is in 0.0.0.0/8 (\"this network\", RFC 1122)"
	case a.Is4() && classE4.Contains(a):
		return "is in the reserved 240.0.0.0/4"
	}
	if a.Is4() {
		switch {
		case p.Bits() < 8:
			return fmt.Sprintf("has a /%d subnet, too short for an interface (at least /8)", p.Bits())
		case p.Bits() == 32:
			return "is a /32: a link or LAN needs room for a neighbour (use /31 or shorter)"
		case p.Bits() <= 30 && a == net.Addr():
			return fmt.Sprintf("is the network address of %s", net)
		case p.Bits() <= 30 && a == lastAddr(net):
			return fmt.Sprintf("is the broadcast address of %s", net)
		}
		return ""
	}
	switch {
	case p.Bits() < 16:
		return fmt.Sprintf("has a /%d subnet, too short for an interface (at least /16)", p.Bits())
	case p.Bits() == 128:
		return "is a /128: a link or LAN needs room for a neighbour (use /127 or shorter)"
	case p.Bits() <= 126 && a == net.Addr():
		return fmt.Sprintf("is the subnet-router anycast address of %s (RFC 4291 §2.6.1)", net)
	}
	return ""
}

var (
	zeroNet4 = netip.MustParsePrefix("0.0.0.0/8")
	classE4  = netip.MustParsePrefix("240.0.0.0/4")
)

// prefixSet holds the subnets automatic allocation must not hand out.
//
// Two kinds of members: "blocking" ones (interface subnets) overlap a
// candidate whether they contain it or lie inside it; "specific" ones
// (originated prefixes) only when they lie inside the candidate or equal
// it, so that a router originating a default route or an aggregate does
// not stop allocation from its pools.
type prefixSet struct {
	blocking map[netip.Prefix]bool // masked
	// lens marks the lengths present in blocking, so conflict looks up
	// only those (a handful) instead of all 129.
	lens [129]bool
	// sorted holds every member by address, then length, for the
	// "inside the candidate" test. Members added since the last commit are
	// in pending: the allocator commits between pools, and within one pool
	// its own allocations lie behind its cursor and need no test.
	sorted  []netip.Prefix
	pending []netip.Prefix
}

func newPrefixSet() *prefixSet { return &prefixSet{blocking: map[netip.Prefix]bool{}} }

func (s *prefixSet) add(p netip.Prefix, blocking bool) {
	p = p.Masked()
	if blocking {
		s.blocking[p] = true
		s.lens[p.Bits()] = true
	}
	s.pending = append(s.pending, p)
}

func (s *prefixSet) commit() {
	if len(s.pending) == 0 {
		return
	}
	s.sorted = append(s.sorted, s.pending...)
	s.pending = s.pending[:0]
	slices.SortFunc(s.sorted, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
}

// conflict reports whether candidate c overlaps a member. When a blocking
// member contains c, container is that member, so the caller can jump past
// it instead of trying every subnet inside.
func (s *prefixSet) conflict(c netip.Prefix) (bad bool, container netip.Prefix) {
	for l := 0; l <= c.Bits(); l++ {
		if !s.lens[l] {
			continue
		}
		m, _ := c.Addr().Prefix(l)
		if s.blocking[m] {
			return true, m
		}
	}
	last := lastAddr(c)
	i, _ := slices.BinarySearchFunc(s.sorted, c.Addr(), func(p netip.Prefix, a netip.Addr) int {
		return p.Addr().Compare(a)
	})
	for ; i < len(s.sorted) && s.sorted[i].Addr().Compare(last) <= 0; i++ {
		if s.sorted[i].Bits() >= c.Bits() {
			return true, netip.Prefix{}
		}
	}
	return false, netip.Prefix{}
}

// subnetAlloc hands out the subnets of length bits of a pool, in address
// order, skipping every subnet that conflicts with the used set.
type subnetAlloc struct {
	pool netip.Prefix
	bits int
	used *prefixSet
	next u128
	done bool
}

func newSubnetAlloc(pool netip.Prefix, bits int, used *prefixSet) *subnetAlloc {
	used.commit()
	return &subnetAlloc{pool: pool, bits: bits, used: used, next: toU128(pool.Addr())}
}

func (a *subnetAlloc) alloc() (netip.Prefix, bool) {
	is4 := a.pool.Addr().Is4()
	step := pow2(addrBits(a.pool.Addr()) - a.bits)
	for !a.done {
		c := netip.PrefixFrom(fromU128(a.next, is4), a.bits)
		if !a.pool.Contains(c.Addr()) {
			a.done = true
			break
		}
		bad, container := a.used.conflict(c)
		next := a.next
		if container.IsValid() {
			// Jump to the first subnet after the container.
			next = toU128(lastAddr(container))
		}
		var over bool
		if bad && container.IsValid() {
			next, over = next.add(u128{lo: 1})
		} else {
			next, over = next.add(step)
		}
		a.next, a.done = next, over
		if !bad {
			a.used.add(c, true)
			return c, true
		}
	}
	return netip.Prefix{}, false
}

// subnetCount says how many subnets of length bits a pool holds, for error
// messages ("65536 /64 subnets").
func subnetCount(pool netip.Prefix, bits int) string {
	n := bits - pool.Bits()
	switch {
	case n == 0:
		return fmt.Sprintf("1 /%d subnet", bits)
	case n < 63:
		return fmt.Sprintf("%d /%d subnets", uint64(1)<<n, bits)
	}
	return fmt.Sprintf("2^%d /%d subnets", n, bits)
}
