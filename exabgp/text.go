package exabgp

import (
	"fmt"
	"slices"
	"strings"

	"lab/speaker/wire"
)

// textMessage renders a message in ExaBGP 4.2's text encoding: one or
// more lines, each ending in a newline (the program then reads an empty
// line after each message, as from ExaBGP).
func textMessage(n Neighbor, dir string, m wire.Message) string {
	p := fmt.Sprintf("neighbor %v %s", n.Peer, dir)
	switch m := m.(type) {
	case *wire.Open:
		return fmt.Sprintf("%s open version %d asn %d hold_time %d router_id %v capabilities [%s]\n",
			p, m.Version, m.AS(), m.HoldTime, m.ID, capsText(m))
	case *wire.Keepalive:
		return p + " keepalive\n"
	case *wire.Notification:
		return fmt.Sprintf("%s notification code %d subcode %d data %s\n", p, m.Code, m.Subcode, hexUpper(m.Data))
	case *wire.RouteRefresh:
		return fmt.Sprintf("%s route-refresh afi %s safi %s %s\n", p, afiName(m.AFI), safiName(m.SAFI), refreshSubtype(m.Subtype))
	case *wire.Update:
		return updateText(p+" update", m)
	}
	return ""
}

func capsText(m *wire.Open) string {
	var out, fams []string
	mpAt := -1
	for _, c := range m.Capabilities {
		switch c := c.(type) {
		case wire.CapMultiprotocol:
			fams = append(fams, afiName(c.AFI)+" "+safiName(c.SAFI))
			if mpAt < 0 {
				mpAt = len(out)
				out = append(out, "")
			}
		case wire.CapRouteRefresh:
			out = append(out, "route refresh")
		case wire.CapEnhancedRouteRefresh:
			out = append(out, "enhanced route refresh")
		case wire.CapAS4:
			out = append(out, fmt.Sprintf("asn4(%d)", c.AS))
		case wire.CapExtendedMessage:
			out = append(out, "extended message(65535)")
		case wire.CapGracefulRestart:
			out = append(out, fmt.Sprintf("graceful restart(%d)", c.Time))
		case wire.CapFQDN:
			out = append(out, fmt.Sprintf("hostname(%s %s)", c.Hostname, c.Domain))
		case wire.CapAddPath:
			out = append(out, "addpath")
		default:
			out = append(out, fmt.Sprintf("unknown(%d)", c.Code()))
		}
	}
	if mpAt >= 0 {
		out[mpAt] = "multiprotocol(" + strings.Join(fams, ", ") + ")"
	}
	return strings.Join(out, ", ")
}

func updateText(p string, u *wire.Update) string {
	var b strings.Builder
	b.WriteString(p + " start\n")
	if afi, safi, ok := u.IsEndOfRIB(); ok {
		fmt.Fprintf(&b, "%s route eor %d/%d (%s %s)\n", p, afi, safi, afiName(afi), safiName(safi))
	} else {
		attrs := attributesText(u.Attrs)
		r := updateRoutes(u)
		for _, f := range r.fam {
			for _, nh := range r.nhs[f] {
				for _, pfx := range r.announce[f][nh] {
					fmt.Fprintf(&b, "%s announced %v next-hop %s%s\n", p, pfx, nhString(nh), attrs)
				}
			}
		}
		for _, f := range r.wfam {
			for _, pfx := range r.withdraw[f] {
				fmt.Fprintf(&b, "%s withdrawn %v\n", p, pfx)
			}
		}
	}
	b.WriteString(p + " end\n")
	return b.String()
}

// textList is one value, or several in [ ].
func textList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return "[ " + strings.Join(s, " ") + " ]"
}

var communityNames = map[wire.Community]string{
	wire.CommunityNoExport: "no-export", wire.CommunityNoAdvertise: "no-advertise",
	wire.CommunityNoExportSubconfed: "no-export-subconfed", wire.CommunityNoPeer: "nopeer",
	wire.CommunityBlackhole: "blackhole",
}

// attributesText renders the path attributes in ExaBGP's text words.
func attributesText(attrs []wire.Attr) string {
	var b strings.Builder
	sorted := slices.Clone(attrs)
	slices.SortStableFunc(sorted, func(a, b wire.Attr) int { return int(a.Code()) - int(b.Code()) })
	for _, a := range sorted {
		switch a := a.(type) {
		case wire.Origin:
			b.WriteString(" origin " + originName(a.Value))
		case wire.ASPath:
			seq, set, _, _ := pathParts(a.Segments)
			var w []string
			for _, as := range seq {
				w = append(w, fmt.Sprint(as))
			}
			if len(set) > 0 {
				w = append(w, "(")
				for _, as := range set {
					w = append(w, fmt.Sprint(as))
				}
				w = append(w, ")")
			}
			b.WriteString(" as-path [ " + strings.Join(w, " ") + " ]")
		case wire.MED:
			fmt.Fprintf(&b, " med %d", a.Value)
		case wire.LocalPref:
			fmt.Fprintf(&b, " local-preference %d", a.Value)
		case wire.AtomicAggregate:
			b.WriteString(" atomic-aggregate")
		case wire.Aggregator:
			fmt.Fprintf(&b, " aggregator ( %d:%v )", a.AS, a.Addr)
		case wire.Communities:
			var s []string
			for _, c := range a.Values {
				if n, ok := communityNames[c]; ok {
					s = append(s, n)
				} else {
					s = append(s, fmt.Sprintf("%d:%d", uint32(c)>>16, uint32(c)&0xffff))
				}
			}
			b.WriteString(" community " + textList(s))
		case wire.OriginatorID:
			fmt.Fprintf(&b, " originator-id %v", a.ID)
		case wire.ClusterList:
			var s []string
			for _, id := range a.IDs {
				s = append(s, id.String())
			}
			b.WriteString(" cluster-list " + textList(s))
		case wire.ExtendedCommunities:
			var s []string
			for _, c := range a.Values {
				s = append(s, extCommunityString(c))
			}
			b.WriteString(" extended-community " + textList(s))
		case wire.LargeCommunities:
			var s []string
			for _, c := range a.Values {
				s = append(s, c.String())
			}
			b.WriteString(" large-community " + textList(s))
		case wire.UnknownAttr:
			fmt.Fprintf(&b, " attribute [ 0x%02X 0x%02X 0x%x ]", uint8(a.TypeCode), uint8(a.WireFlags), a.Value)
		}
	}
	return b.String()
}
