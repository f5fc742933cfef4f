package rib

// AdjOut is one peer's Adj-RIB-Out for one family: the attributes last
// advertised for every destination of a table (RFC 4271 section 3.2).
// Comparing the wanted attributes with it by pointer tells what to send.
// It is a slice indexed by the destinations' ids, 8 bytes a prefix, not a
// map keyed by prefix: a lab speaker has an Adj-RIB-Out per peer, and
// holds hundreds of thousands of advertisements. It belongs to the RIB
// goroutine, with its Table.
type AdjOut struct {
	t *Table
	v []*Attrs // by Dest.id
	n int
}

// NewAdjOut returns an empty Adj-RIB-Out of destinations of t, whose sets
// come from t's Interner.
func NewAdjOut(t *Table) *AdjOut { return &AdjOut{t: t} }

// Get returns what was advertised for d, or nil (also for a nil d).
func (a *AdjOut) Get(d *Dest) *Attrs {
	if d == nil || int(d.id) >= len(a.v) {
		return nil
	}
	return a.v[d.id]
}

// Set records that s (interned) is advertised for d and reports whether
// it differs from what was. AdjOut takes its own reference.
func (a *AdjOut) Set(d *Dest, s *Attrs) bool {
	if int(d.id) >= len(a.v) {
		a.v = append(a.v, make([]*Attrs, len(a.t.byID)-len(a.v))...)
	}
	old := a.v[d.id]
	if old == s {
		return false
	}
	if old == nil {
		a.n++
		d.outRefs++
	}
	a.t.in.Release(old)
	a.v[d.id] = a.t.in.Retain(s)
	return true
}

// Delete records the withdrawal of d and reports whether it was
// advertised.
func (a *AdjOut) Delete(d *Dest) bool {
	old := a.Get(d)
	if old == nil {
		return false
	}
	a.t.in.Release(old)
	a.v[d.id] = nil
	a.n--
	d.outRefs--
	return true
}

// Len returns the number of prefixes advertised.
func (a *AdjOut) Len() int { return a.n }

// Clear forgets everything (the session went down). Destinations left
// without paths nor advertisements go at the table's next Sweep.
func (a *AdjOut) Clear() {
	for id, s := range a.v {
		if s == nil {
			continue
		}
		a.t.in.Release(s)
		if d := a.t.byID[id]; d != nil {
			// One left without paths waits in the table's empty list.
			d.outRefs--
		}
	}
	a.v, a.n = nil, 0
}
