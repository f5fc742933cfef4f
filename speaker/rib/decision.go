package rib

import "fmt"

// Reason is the step of the decision process that selected a best path,
// as FRR's `selectionReason`.
type Reason uint8

// Reasons, in decision order.
const (
	ReasonNone Reason = iota
	ReasonFirst
	ReasonWeight
	ReasonLocalPref
	ReasonLocalRoute
	ReasonASPath
	ReasonOrigin
	ReasonMED
	ReasonPeerType
	ReasonIGPMetric
	ReasonOlder
	ReasonRouterID
	ReasonClusterLength
	ReasonNeighborIP
	ReasonNothingLeft
)

var reasonText = [...]string{
	ReasonNone:          "Nothing to Select",
	ReasonFirst:         "First path received",
	ReasonWeight:        "Weight",
	ReasonLocalPref:     "Local Pref",
	ReasonLocalRoute:    "Local Route",
	ReasonASPath:        "AS Path",
	ReasonOrigin:        "Origin",
	ReasonMED:           "MED",
	ReasonPeerType:      "Peer Type",
	ReasonIGPMetric:     "IGP Metric",
	ReasonOlder:         "Older Path",
	ReasonRouterID:      "Router ID",
	ReasonClusterLength: "Cluster length",
	ReasonNeighborIP:    "Neighbor IP",
	ReasonNothingLeft:   "Nothing left to compare",
}

// String returns FRR's wording of the reason.
func (r Reason) String() string {
	if int(r) < len(reasonText) {
		return reasonText[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// MarshalText renders the reason as its FRR wording, for JSON.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// compare reports whether path a beats the current best b, and the step
// that decided. The order is FRR's bgp_path_info_cmp, which refines RFC
// 4271 section 9.1.2.2: weight, LOCAL_PREF, locally originated, AS_PATH
// length, ORIGIN, MED (only between paths from the same neighbour AS),
// eBGP over iBGP, the lower IGP cost to the next hop, then between two
// external paths the one already selected
// ("Older Path") unless compare-routerid is set, then the lower router ID
// (ORIGINATOR_ID when present), the shorter CLUSTER_LIST, and the lower
// peer address. aSel and bSel say which of the two was the best before.
func (t *Table) compare(a, b *Path, aSel, bSel bool) (bool, Reason) {
	if wa, wb := a.Weight(), b.Weight(); wa != wb {
		return wa > wb, ReasonWeight
	}
	if la, lb := a.Attrs.EffectiveLocalPref(), b.Attrs.EffectiveLocalPref(); la != lb {
		return la > lb, ReasonLocalPref
	}
	if a.Src().Local != b.Src().Local {
		return a.Src().Local, ReasonLocalRoute
	}
	if la, lb := a.Attrs.PathLen(), b.Attrs.PathLen(); la != lb {
		return la < lb, ReasonASPath
	}
	if a.Attrs.Origin != b.Attrs.Origin {
		return a.Attrs.Origin < b.Attrs.Origin, ReasonOrigin
	}
	// A missing MED counts as 0, FRR's default (no med-missing-as-worst).
	if a.Attrs.NeighborAS() == b.Attrs.NeighborAS() && a.Attrs.MED != b.Attrs.MED {
		return a.Attrs.MED < b.Attrs.MED, ReasonMED
	}
	if ea, eb := a.Src().external(), b.Src().external(); ea != eb {
		return ea, ReasonPeerType
	}
	// The nearest exit (hot-potato routing): the lower IGP cost to the
	// next hop (RFC 4271 section 9.1.2.2 e).
	if ma, mb := a.NH.Metric, b.NH.Metric; ma != mb {
		return ma < mb, ReasonIGPMetric
	}
	if !t.CompareRouterID && a.Src().external() && b.Src().external() {
		// Route stability: keep the path that is already selected.
		if aSel {
			return true, ReasonOlder
		}
		if bSel {
			return false, ReasonOlder
		}
	}
	xa, xb := a.Attrs.Extra(), b.Attrs.Extra()
	ida, idb := a.Src().RouterID, b.Src().RouterID
	if xa.OriginatorID.IsValid() {
		ida = xa.OriginatorID
	}
	if xb.OriginatorID.IsValid() {
		idb = xb.OriginatorID
	}
	if c := ida.Compare(idb); c != 0 {
		return c < 0, ReasonRouterID
	}
	if ca, cb := len(xa.ClusterList), len(xb.ClusterList); ca != cb {
		return ca < cb, ReasonClusterLength
	}
	if c := a.Src().Addr.Compare(b.Src().Addr); c != 0 {
		return c < 0, ReasonNeighborIP
	}
	return false, ReasonNothingLeft
}
