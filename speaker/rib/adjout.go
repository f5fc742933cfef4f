package rib

import "net/netip"

// AdjOut is one peer's Adj-RIB-Out for one family: the attributes last
// advertised for every prefix (RFC 4271 section 3.2). Comparing the wanted
// attributes with it by pointer tells what to send. It belongs to the RIB
// goroutine.
type AdjOut struct {
	in *Interner
	m  map[netip.Prefix]*Attrs
}

// NewAdjOut returns an empty Adj-RIB-Out whose sets come from in.
func NewAdjOut(in *Interner) *AdjOut {
	return &AdjOut{in: in, m: make(map[netip.Prefix]*Attrs)}
}

// Get returns what was advertised for pfx, or nil.
func (a *AdjOut) Get(pfx netip.Prefix) *Attrs { return a.m[pfx] }

// Set records that s (interned) is advertised for pfx and reports whether
// it differs from what was. AdjOut takes its own reference.
func (a *AdjOut) Set(pfx netip.Prefix, s *Attrs) bool {
	old := a.m[pfx]
	if old == s {
		return false
	}
	a.in.Release(old)
	a.m[pfx] = a.in.Retain(s)
	return true
}

// Delete records the withdrawal of pfx and reports whether it was
// advertised.
func (a *AdjOut) Delete(pfx netip.Prefix) bool {
	old, ok := a.m[pfx]
	if !ok {
		return false
	}
	a.in.Release(old)
	delete(a.m, pfx)
	return true
}

// Len returns the number of prefixes advertised.
func (a *AdjOut) Len() int { return len(a.m) }

// Walk calls fn for every advertised prefix, in no order.
func (a *AdjOut) Walk(fn func(netip.Prefix, *Attrs)) {
	for p, s := range a.m {
		fn(p, s)
	}
}

// Clear forgets everything (the session went down).
func (a *AdjOut) Clear() {
	for p, s := range a.m {
		a.in.Release(s)
		delete(a.m, p)
	}
}
