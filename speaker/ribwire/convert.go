package ribwire

import (
	"errors"
	"net/netip"
	"sync"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

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

// Opaque returns the encoding rib.Ext.Other holds for attributes the
// speaker carries without interpreting them (AGGREGATOR, extended
// communities, unknown optional transitive ones): what a route originated
// with them records.
func Opaque(attrs []wire.Attr) string { return others.intern(attrs) }

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

// Convert turns a decoded UPDATE, received with options o over interface
// iface (from an iBGP peer when ibgp), into RIB terms; its attribute sets
// are not interned yet (Intern). perr is the RFC 7606 error wire.Parse
// returned with it, if any.
func Convert(u *wire.Update, o *wire.Options, perr error, iface string, ibgp bool) *Update {
	in := &Update{Err: perr}
	if afi, safi, ok := u.IsEndOfRIB(); ok {
		in.Parts = append(in.Parts, Part{Family: wire.Family{AFI: afi, SAFI: safi}, EndOfRIB: true})
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
		part := Part{Family: wire.IPv4Unicast, Withdrawn: u.Withdrawn}
		if withdrawAll {
			part.Withdrawn = append(part.Withdrawn, u.NLRI...)
		} else if len(u.NLRI) > 0 {
			a := base
			if nh, ok := u.NextHop(); ok {
				part.NextHop = nh.Addr
			}
			part.Attrs, part.NLRI = &a, u.NLRI
		}
		in.Parts = append(in.Parts, part)
	}
	if r, ok := u.MPReach(); ok && len(r.Raw) == 0 {
		part := Part{Family: wire.Family{AFI: r.AFI, SAFI: r.SAFI}}
		if withdrawAll {
			part.Withdrawn = r.NLRI
		} else {
			a := base
			part.NextHop, part.LinkLocal = mpNextHops(r.NextHops, iface)
			part.Attrs, part.NLRI = &a, r.NLRI
		}
		in.Parts = append(in.Parts, part)
	}
	if r, ok := u.MPUnreach(); ok && len(r.Raw) == 0 {
		in.Parts = append(in.Parts, Part{Family: wire.Family{AFI: r.AFI, SAFI: r.SAFI}, Withdrawn: r.Withdrawn})
	}
	return in
}

// mpNextHops reads an MP_REACH next hop (RFC 2545 section 3): a global
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
