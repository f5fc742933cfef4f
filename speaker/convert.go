package speaker

import (
	"errors"
	"net/netip"
	"sync"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// famPart is what an UPDATE says about one address family.
type famPart struct {
	fam   wire.Family
	attrs *rib.Attrs // nil when the part only withdraws
	// nh and ll are the next hops of nlri (rib.NextHop's Global and
	// LinkLocal).
	nh, ll    netip.Addr
	nlri      []netip.Prefix
	withdrawn []netip.Prefix
	eor       bool
}

// inUpdate is a received UPDATE in RIB terms, built by the connection's
// reader goroutine so that decoding (and the interning of its attribute
// sets) runs beside the RIB goroutine. Once the reader has interned it,
// each part's attribute set carries a reference that the update owns:
// the RIB goroutine takes them over, and whoever drops the update
// instead gives them back (release).
type inUpdate struct {
	parts []famPart
	// err is an RFC 7606 error the UPDATE survived (treat-as-withdraw or
	// attribute-discard), for the log.
	err error

	// A fast-path update comes from updatePool and goes back to it once
	// applied (done): its parts and prefixes are its own scratch space,
	// reused by the next UPDATE any reader decodes.
	pooled  bool
	partBuf [3]famPart
	pfxBuf  []netip.Prefix
}

// updatePool recycles the fast path's updates: a lab's readers decode
// hundreds of thousands of UPDATEs, each needing the same few slices.
var updatePool = sync.Pool{New: func() any { return new(inUpdate) }}

// maxPooledPrefixes bounds the prefix buffer an update keeps in the pool
// (a full table's UPDATEs hold a thousand prefixes and more).
const maxPooledPrefixes = 256

// done gives back an update the RIB goroutine applied (its references
// already released): a pooled one returns to the pool.
func (u *inUpdate) done() {
	if u == nil || !u.pooled {
		return
	}
	clear(u.partBuf[:])
	u.parts, u.err = nil, nil
	if cap(u.pfxBuf) > maxPooledPrefixes {
		u.pfxBuf = nil
	}
	u.pfxBuf = u.pfxBuf[:0]
	updatePool.Put(u)
}

// intern replaces the attribute sets convertIn built with the shared
// ones, taking a reference each (a new one becomes the shared set).
func (u *inUpdate) intern(in *rib.Interner) {
	for i := range u.parts {
		if a := u.parts[i].attrs; a != nil {
			u.parts[i].attrs = in.InternOwned(a)
		}
	}
}

// release gives back the references of an interned update that does not
// reach the RIB. u may be nil.
func (u *inUpdate) release(in *rib.Interner) {
	if u == nil {
		return
	}
	for i := range u.parts {
		in.Release(u.parts[i].attrs)
		u.parts[i].attrs = nil
	}
}

// otherAttrs interns the attributes a path carries without the decision
// process looking at them (AGGREGATOR, extended communities, unknown
// optional transitive ones): rib.Attrs.Other holds their encoding, this
// table the decoded values to send again. Entries are never removed: there
// are as many as distinct combinations seen, a handful in practice. There
// is one table per process (others), as there is one rib.Interner: a set
// interned by one speaker may be advertised by another.
type otherAttrs struct {
	mu sync.Mutex
	m  map[string][]wire.Attr
}

var others otherAttrs

func (o *otherAttrs) intern(attrs []wire.Attr) string {
	if len(attrs) == 0 {
		return ""
	}
	b, err := (&wire.Update{Attrs: attrs}).AppendTo(nil, &wire.Options{AS4: true, ExtendedMessage: true})
	if err != nil || len(b) < wire.HeaderLen+4 {
		return ""
	}
	key := string(b[wire.HeaderLen+4:])
	o.mu.Lock()
	if o.m == nil {
		o.m = make(map[string][]wire.Attr)
	}
	if _, ok := o.m[key]; !ok {
		o.m[key] = attrs
	}
	o.mu.Unlock()
	return key
}

func (o *otherAttrs) get(key string) []wire.Attr {
	if key == "" {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.m[key]
}

// convertIn turns a decoded UPDATE into RIB parts. perr is the RFC 7606
// error Parse returned with it, if any.
func (sp *Speaker) convertIn(u *wire.Update, o *wire.Options, perr error, p *PeerConfig, ibgp bool) *inUpdate {
	in := &inUpdate{err: perr}
	if afi, safi, ok := u.IsEndOfRIB(); ok {
		in.parts = append(in.parts, famPart{fam: wire.Family{AFI: afi, SAFI: safi}, eor: true})
		return in
	}
	withdrawAll := false
	var we *wire.Error
	if errors.As(perr, &we) && we.Action == wire.ActionTreatAsWithdraw {
		withdrawAll = true
	}
	var base rib.Attrs
	var ext rib.Ext
	var other []wire.Attr
	for _, a := range u.Attrs {
		switch a := a.(type) {
		case wire.Origin:
			base.Origin = rib.Origin(a.Value)
		case wire.MED:
			base.MED, base.HasMED = a.Value, true
		case wire.LocalPref:
			// LOCAL_PREF from an external peer is ignored (RFC 4271
			// section 5.1.5).
			if ibgp {
				base.LocalPref, base.HasLocalPref = a.Value, true
			}
		case wire.AtomicAggregate:
			base.AtomicAggregate = true
		case wire.Communities:
			for _, c := range a.Values {
				ext.Communities = append(ext.Communities, uint32(c))
			}
		case wire.LargeCommunities:
			for _, c := range a.Values {
				ext.LargeCommunities = append(ext.LargeCommunities, rib.LargeCommunity{Global: c.GlobalAdmin, Local1: c.LocalData1, Local2: c.LocalData2})
			}
		case wire.OriginatorID:
			if ibgp {
				ext.OriginatorID = a.ID
			}
		case wire.ClusterList:
			if ibgp {
				for _, id := range a.IDs {
					b := id.As4()
					ext.ClusterList = append(ext.ClusterList, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))
				}
			}
		case wire.ExtendedCommunities:
			other = append(other, a)
		case wire.UnknownAttr:
			if pa, ok := a.Propagate(); ok {
				other = append(other, pa)
			}
		}
	}
	if path, ok := u.EffectiveASPath(o); ok {
		for _, s := range path.Segments {
			base.ASPath = append(base.ASPath, rib.Segment{Type: uint8(s.Type), ASNs: s.ASNs})
		}
	}
	if ag, ok := u.EffectiveAggregator(o); ok {
		other = append([]wire.Attr{wire.Aggregator{AS: ag.AS, Addr: ag.Addr}}, other...)
	}
	ext.Other = others.intern(other)
	if ext.Communities != nil || ext.LargeCommunities != nil || ext.OriginatorID.IsValid() || ext.ClusterList != nil || ext.Other != "" {
		base.Ext = &ext
	}

	if len(u.NLRI) > 0 || len(u.Withdrawn) > 0 {
		part := famPart{fam: wire.IPv4Unicast, withdrawn: u.Withdrawn}
		if withdrawAll {
			part.withdrawn = append(part.withdrawn, u.NLRI...)
		} else if len(u.NLRI) > 0 {
			a := base
			if nh, ok := u.NextHop(); ok {
				part.nh = nh.Addr
			}
			part.attrs, part.nlri = &a, u.NLRI
		}
		in.parts = append(in.parts, part)
	}
	if r, ok := u.MPReach(); ok && len(r.Raw) == 0 {
		part := famPart{fam: wire.Family{AFI: r.AFI, SAFI: r.SAFI}}
		if withdrawAll {
			part.withdrawn = r.NLRI
		} else {
			a := base
			part.nh, part.ll = mpNextHops(r.NextHops, p.Interface)
			part.attrs, part.nlri = &a, r.NLRI
		}
		in.parts = append(in.parts, part)
	}
	if r, ok := u.MPUnreach(); ok && len(r.Raw) == 0 {
		in.parts = append(in.parts, famPart{fam: wire.Family{AFI: r.AFI, SAFI: r.SAFI}, withdrawn: r.Withdrawn})
	}
	return in
}

// setMPNextHops reads an MP_REACH next hop (RFC 2545 section 3): a global
// address, optionally followed by a link-local one; a lone link-local
// address is allowed too. The link-local address gets the interface as
// zone.
func mpNextHops(nhs []netip.Addr, iface string) (global, linkLocal netip.Addr) {
	for i, nh := range nhs {
		nh = nh.Unmap()
		switch {
		case nh.Is6() && nh.IsLinkLocalUnicast():
			if !linkLocal.IsValid() {
				linkLocal = nh.WithZone(iface)
			}
		case i == 0:
			global = nh
		}
	}
	return global, linkLocal
}

// prefixLen is the encoded size of a prefix in NLRI.
func prefixLen(p netip.Prefix) int { return 1 + (p.Bits()+7)/8 }

// buildUpdates packs nlri with one attribute set into as few UPDATEs as
// fit the session's maximum message size. attrs are the path attributes
// without MP_REACH_NLRI; for a family other than IPv4 unicast the NLRI go
// into an MP_REACH_NLRI with next hops nhs, put first as the seed's Quagga
// does.
func buildUpdates(fam wire.Family, attrs []wire.Attr, nhs []netip.Addr, nlri []netip.Prefix, o *wire.Options) []*wire.Update {
	var out []*wire.Update
	mk := func(batch []netip.Prefix) *wire.Update { return newUpdate(fam, attrs, nhs, batch) }
	base, err := mk(nil).AppendTo(nil, o)
	if err != nil {
		return nil
	}
	// 2 bytes of slack: MP_REACH_NLRI may switch to an extended length.
	room := o.MaxLen() - len(base) - 2
	start, size := 0, 0
	for i, p := range nlri {
		n := prefixLen(p)
		if size+n > room && i > start {
			out = append(out, mk(nlri[start:i]))
			start, size = i, 0
		}
		size += n
	}
	if start < len(nlri) {
		out = append(out, mk(nlri[start:]))
	}
	return out
}

// newUpdate is one UPDATE of nlri with one attribute set (see
// buildUpdates).
func newUpdate(fam wire.Family, attrs []wire.Attr, nhs []netip.Addr, nlri []netip.Prefix) *wire.Update {
	if fam == wire.IPv4Unicast {
		return &wire.Update{Attrs: attrs, NLRI: nlri}
	}
	all := make([]wire.Attr, 0, len(attrs)+1)
	all = append(all, wire.MPReachNLRI{AFI: fam.AFI, SAFI: fam.SAFI, NextHops: nhs, NLRI: nlri})
	all = append(all, attrs...)
	return &wire.Update{Attrs: all}
}

// buildWithdraws packs withdrawals into UPDATEs.
func buildWithdraws(fam wire.Family, ws []netip.Prefix, o *wire.Options) []*wire.Update {
	var out []*wire.Update
	room := o.MaxLen() - wire.HeaderLen - 4 - 8
	start, size := 0, 0
	mk := func(batch []netip.Prefix) *wire.Update {
		if fam == wire.IPv4Unicast {
			return &wire.Update{Withdrawn: batch}
		}
		return &wire.Update{Attrs: []wire.Attr{wire.MPUnreachNLRI{AFI: fam.AFI, SAFI: fam.SAFI, Withdrawn: batch}}}
	}
	for i, p := range ws {
		n := prefixLen(p)
		if size+n > room && i > start {
			out = append(out, mk(ws[start:i]))
			start, size = i, 0
		}
		size += n
	}
	if start < len(ws) {
		out = append(out, mk(ws[start:]))
	}
	return out
}

// wireAttrs renders an outgoing attribute set, in type code order, with
// NEXT_HOP nh4 when it is valid (IPv4 unicast; other families carry their
// next hops in MP_REACH_NLRI).
func wireAttrs(a *rib.Attrs, nh4 netip.Addr) []wire.Attr {
	out := make([]wire.Attr, 1, 8) // room for the usual attributes
	out[0] = wire.Origin{Value: wire.OriginValue(a.Origin)}
	path := wire.ASPath{Segments: make([]wire.ASSegment, 0, len(a.ASPath))}
	for _, s := range a.ASPath {
		path.Segments = append(path.Segments, wire.ASSegment{Type: wire.SegmentType(s.Type), ASNs: s.ASNs})
	}
	out = append(out, path)
	if nh4.IsValid() {
		out = append(out, wire.NextHop{Addr: nh4})
	}
	if a.HasMED {
		out = append(out, wire.MED{Value: a.MED})
	}
	if a.HasLocalPref {
		out = append(out, wire.LocalPref{Value: a.LocalPref})
	}
	if a.AtomicAggregate {
		out = append(out, wire.AtomicAggregate{})
	}
	x := a.Extra()
	var rest []wire.Attr
	for _, o := range others.get(x.Other) {
		if o.Code() < wire.AttrCommunities {
			out = append(out, o)
		} else {
			rest = append(rest, o)
		}
	}
	if len(x.Communities) > 0 {
		cs := make([]wire.Community, len(x.Communities))
		for i, c := range x.Communities {
			cs[i] = wire.Community(c)
		}
		out = append(out, wire.Communities{Values: cs})
	}
	out = append(out, rest...)
	if len(x.LargeCommunities) > 0 {
		ls := make([]wire.LargeCommunity, len(x.LargeCommunities))
		for i, c := range x.LargeCommunities {
			ls[i] = wire.LargeCommunity{GlobalAdmin: c.Global, LocalData1: c.Local1, LocalData2: c.Local2}
		}
		out = append(out, wire.LargeCommunities{Values: ls})
	}
	return out
}
