package ribwire

import (
	"net/netip"
	"slices"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// prefixLen is the encoded size of a prefix in NLRI.
func prefixLen(p netip.Prefix) int { return 1 + (p.Bits()+7)/8 }

// pack splits pfxs into runs whose NLRI encoding fits room bytes and
// calls emit with each run, in order: the one NLRI-packing loop of
// advertisements (fast and general) and withdrawals. A prefix larger than
// room alone still makes a run of its own.
func pack(pfxs []netip.Prefix, room int, emit func(batch []netip.Prefix)) {
	start, size := 0, 0
	for i, p := range pfxs {
		n := prefixLen(p)
		if size+n > room && i > start {
			emit(pfxs[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(pfxs) {
		emit(pfxs[start:])
	}
}

// buildUpdates packs nlri with one attribute set into as few UPDATEs as
// fit the session's maximum message size, or says why the attributes
// cannot be encoded. attrs are the path attributes
// without MP_REACH_NLRI; for a family other than IPv4 unicast the NLRI go
// into an MP_REACH_NLRI with next hops nhs, put first as the seed's Quagga
// does.
func buildUpdates(fam wire.Family, attrs []wire.Attr, nhs []netip.Addr, nlri []netip.Prefix, o *wire.Options) ([]*wire.Update, error) {
	var out []*wire.Update
	mk := func(batch []netip.Prefix) { out = append(out, newUpdate(fam, attrs, nhs, batch)) }
	base, err := newUpdate(fam, attrs, nhs, nil).AppendTo(nil, o)
	if err != nil {
		return nil, err
	}
	// 2 bytes of slack: MP_REACH_NLRI may switch to an extended length.
	pack(nlri, o.MaxLen()-len(base)-2, mk)
	return out, nil
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
	pack(ws, o.MaxLen()-wire.HeaderLen-4-8, func(batch []netip.Prefix) {
		if fam == wire.IPv4Unicast {
			out = append(out, &wire.Update{Withdrawn: batch})
			return
		}
		out = append(out, &wire.Update{Attrs: []wire.Attr{wire.MPUnreachNLRI{AFI: fam.AFI, SAFI: fam.SAFI, Withdrawn: batch}}})
	})
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
	out = append(out, others.get(x.Other)...)
	if len(x.Communities) > 0 {
		cs := make([]wire.Community, len(x.Communities))
		for i, c := range x.Communities {
			cs[i] = wire.Community(c)
		}
		out = append(out, wire.Communities{Values: cs})
	}
	if x.OriginatorID.IsValid() {
		out = append(out, wire.OriginatorID{ID: x.OriginatorID})
	}
	if len(x.ClusterList) > 0 {
		ids := make([]netip.Addr, len(x.ClusterList))
		for i, c := range x.ClusterList {
			ids[i] = netip.AddrFrom4([4]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
		}
		out = append(out, wire.ClusterList{IDs: ids})
	}
	if len(x.LargeCommunities) > 0 {
		ls := make([]wire.LargeCommunity, len(x.LargeCommunities))
		for i, c := range x.LargeCommunities {
			ls[i] = wire.LargeCommunity{GlobalAdmin: c.Global, LocalData1: c.Local1, LocalData2: c.Local2}
		}
		out = append(out, wire.LargeCommunities{Values: ls})
	}
	// In type code order (RFC 4271 section 5 suggests it; the seed's
	// Quagga and FRR send them so): the attributes carried opaquely fall
	// where their codes say. The sort is stable and the usual attributes
	// are in order already.
	slices.SortStableFunc(out, func(a, b wire.Attr) int { return int(a.Code()) - int(b.Code()) })
	return out
}
