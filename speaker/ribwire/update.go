// Package ribwire translates between the wire and the RIB: received
// UPDATEs into RIB terms (a fast decoder for the commonest UPDATEs, and
// the general conversion of a decoded wire.Update), and exported attribute
// sets into UPDATEs (a fast encoder, and the general path through
// wire.Attr values), packed to the session's maximum message size. The
// mappings between rib's and wire's types (origins, AS_PATH segments,
// communities) exist only here.
package ribwire

import (
	"net/netip"
	"sync"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// Part is what an UPDATE says about one address family.
type Part struct {
	Family wire.Family
	// Attrs is the attribute set of NLRI, nil when the part only
	// withdraws.
	Attrs *rib.Attrs
	// NextHop and LinkLocal are the next hops of NLRI (rib.NextHop's
	// Global and LinkLocal; LinkLocal has the interface as zone).
	NextHop, LinkLocal netip.Addr
	NLRI               []netip.Prefix
	Withdrawn          []netip.Prefix
	// EndOfRIB marks the family's End-of-RIB (RFC 4724 section 2).
	EndOfRIB bool
}

// Update is a received UPDATE in RIB terms, built by the connection's
// reader goroutine so that decoding (and the interning of its attribute
// sets) runs beside the decision engine. Once interned, each part's
// attribute set carries a reference that the update owns: the decision
// engine takes them over, and whoever drops the update instead gives them
// back (Release).
type Update struct {
	Parts []Part
	// Err is an RFC 7606 error the UPDATE survived (treat-as-withdraw or
	// attribute-discard), for the log.
	Err error

	// A fast-path update comes from updatePool and goes back to it once
	// applied (Done): its parts and prefixes are its own scratch space,
	// reused by the next UPDATE any reader decodes.
	// partBuf has room for one part, what nearly every UPDATE of a lab
	// has (its family's routes, or its withdrawals): an update waits in
	// the decision engine's queue, thousands of them in a busy lab, and
	// the rare UPDATE of two or three parts appends past it.
	pooled  bool
	partBuf [1]Part
	pfxBuf  []netip.Prefix
}

// updatePool recycles the fast path's updates: a lab's readers decode
// hundreds of thousands of UPDATEs, each needing the same few slices.
var updatePool = sync.Pool{New: func() any { return new(Update) }}

// maxPooledPrefixes bounds the prefix buffer an update keeps in the pool
// (a full table's UPDATEs hold a thousand prefixes and more).
const maxPooledPrefixes = 256

// Done gives back an update the decision engine applied (its references
// released already): a pooled one returns to the pool. u may be nil.
func (u *Update) Done() {
	if u == nil || !u.pooled {
		return
	}
	clear(u.partBuf[:])
	u.Parts, u.Err = nil, nil
	if cap(u.pfxBuf) > maxPooledPrefixes {
		u.pfxBuf = nil
	}
	u.pfxBuf = u.pfxBuf[:0]
	updatePool.Put(u)
}

// Intern replaces the attribute sets Convert built with the shared ones,
// taking a reference each (a new one becomes the shared set).
func (u *Update) Intern(in *rib.Interner) {
	for i := range u.Parts {
		if a := u.Parts[i].Attrs; a != nil {
			u.Parts[i].Attrs = in.InternOwned(a)
		}
	}
}

// Release gives back the references of an interned update that does not
// reach the RIB. u may be nil.
func (u *Update) Release(in *rib.Interner) {
	if u == nil {
		return
	}
	for i := range u.Parts {
		in.Release(u.Parts[i].Attrs)
		u.Parts[i].Attrs = nil
	}
}
