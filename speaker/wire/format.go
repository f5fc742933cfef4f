package wire

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Format renders m over several lines as tcpdump -vvv prints BGP
// ("Update Message (2), length: 94" / "  Multi-Protocol Reach NLRI (14),
// length: 46, Flags [OE]: " / ...), hex dumps included, for the message
// trace of the shell. The hex and lengths are those of m encoded for a
// session with the 4-octet AS capability, the common case; FormatWith
// takes the session's options. The text has no trailing newline.
func Format(m Message) string { return FormatWith(m, &Options{AS4: true}) }

// FormatWith is Format for a session with options o. Messages longer
// than the session allows are rendered too.
func FormatWith(m Message, o *Options) string {
	fo := Options{ExtendedMessage: true}
	if o != nil {
		fo.AS4 = o.AS4
	}
	f := &formatter{o: &fo}
	f.message(m)
	return strings.TrimSuffix(f.sb.String(), "\n")
}

type formatter struct {
	sb strings.Builder
	o  *Options
}

func (f *formatter) line(indent int, format string, args ...any) {
	for range indent {
		f.sb.WriteByte(' ')
	}
	fmt.Fprintf(&f.sb, format, args...)
	f.sb.WriteByte('\n')
}

// hex writes b as tcpdump's hex_print does: 16 bytes a line, in groups
// of two.
func (f *formatter) hex(indent int, b []byte) {
	const digits = "0123456789abcdef"
	for off := 0; off < len(b); off += 16 {
		for range indent {
			f.sb.WriteByte(' ')
		}
		fmt.Fprintf(&f.sb, "0x%04x: ", off)
		row := b[off:min(off+16, len(b))]
		for i, c := range row {
			if i%2 == 0 {
				f.sb.WriteByte(' ')
			}
			f.sb.WriteByte(digits[c>>4])
			f.sb.WriteByte(digits[c&0xf])
		}
		f.sb.WriteByte('\n')
	}
}

var messageNames = map[Type]string{
	TypeOpen:         "Open Message (1)",
	TypeUpdate:       "Update Message (2)",
	TypeNotification: "Notification Message (3)",
	TypeKeepalive:    "Keepalive Message (4)",
	TypeRouteRefresh: "Route Refresh Message (5)",
}

func (f *formatter) message(m Message) {
	b, err := m.AppendTo(nil, f.o)
	if err != nil {
		f.line(0, "%s: cannot encode: %v", m.Type(), err)
		return
	}
	f.line(0, "%s, length: %d", messageNames[m.Type()], len(b))
	switch m := m.(type) {
	case *Open:
		f.open(m)
	case *Update:
		f.update(m, len(b))
	case *Notification:
		f.notification(m)
	case *RouteRefresh:
		f.line(2, "AFI %s (%d), SAFI %s (%d), Subtype %s (%d)", m.AFI, uint16(m.AFI), m.SAFI, uint8(m.SAFI),
			refreshSubtypeName(m.Subtype), m.Subtype)
		if len(m.ORF) > 0 {
			f.line(2, "ORF entries, length: %d", len(m.ORF))
			f.hex(4, m.ORF)
		}
	}
}

func refreshSubtypeName(s uint8) string {
	switch s {
	case RefreshNormal:
		return "Route-Refresh"
	case RefreshBoRR:
		return "BoRR"
	case RefreshEoRR:
		return "EoRR"
	}
	return "Unknown"
}

func (f *formatter) open(m *Open) {
	f.line(2, "Version %d, my AS %d, Holdtime %ds, ID %v", m.Version, m.MyAS, m.HoldTime, m.ID)
	groups := m.ParamGroups
	if groups == nil {
		groups = make([]int, len(m.Capabilities))
		for i := range groups {
			groups[i] = 1
		}
	}
	type param struct {
		caps [][]byte
		n    int
	}
	params := make([]param, 0, len(groups))
	caps := m.Capabilities
	classic, ext := 0, m.ExtendedParams
	for _, g := range groups {
		var p param
		for _, c := range caps[:g] {
			cb, _ := appendCapability(nil, c)
			p.caps = append(p.caps, cb)
			p.n += len(cb)
		}
		caps = caps[g:]
		params = append(params, p)
		classic += 2 + p.n
		if p.n > 255 {
			ext = true
		}
	}
	if classic > 255 {
		ext = true
	}
	if ext {
		f.line(2, "Optional parameters (extended, RFC 9072), length: %d", classic+len(params))
	} else {
		f.line(2, "Optional parameters, length: %d", classic)
	}
	i := 0
	for _, p := range params {
		f.line(4, "Option Capabilities Advertisement (2), length: %d", p.n)
		for _, cb := range p.caps {
			f.capability(m.Capabilities[i], cb)
			i++
		}
	}
}

func (f *formatter) capability(c Capability, b []byte) {
	v := b[2:]
	f.line(6, "%s (%d), length: %d", c.Code(), uint8(c.Code()), len(v))
	switch c := c.(type) {
	case CapMultiprotocol:
		f.line(8, "AFI %s (%d), SAFI %s (%d)", c.AFI, uint16(c.AFI), c.SAFI, uint8(c.SAFI))
	case CapAS4:
		// tcpdump indents this line one column further.
		f.line(9, "4 Byte AS %d", c.AS)
	case CapGracefulRestart:
		var fl []string
		if c.Flags&GRRestarting != 0 {
			fl = append(fl, "R")
		}
		if c.Flags&GRNotification != 0 {
			fl = append(fl, "N")
		}
		flags := "none"
		if len(fl) > 0 {
			flags = strings.Join(fl, ", ")
		}
		f.line(8, "Restart Flags: [%s], Restart Time %ds", flags, c.Time)
		for _, fam := range c.Families {
			fwd := "no"
			if fam.Flags&GRForwarding != 0 {
				fwd = "yes"
			}
			f.line(10, "AFI %s (%d), SAFI %s (%d), Forwarding state preserved: %s",
				fam.AFI, uint16(fam.AFI), fam.SAFI, uint8(fam.SAFI), fwd)
		}
	case CapFQDN:
		f.line(8, "Hostname: %s, Domain: %s", strconv.Quote(c.Hostname), strconv.Quote(c.Domain))
	case CapAddPath:
		for _, fam := range c.Families {
			mode := map[uint8]string{1: "Receive", 2: "Send", 3: "Send/Receive"}[fam.SendReceive]
			if mode == "" {
				mode = fmt.Sprintf("mode %d", fam.SendReceive)
			}
			f.line(8, "AFI %s (%d), SAFI %s (%d), %s", fam.AFI, uint16(fam.AFI), fam.SAFI, uint8(fam.SAFI), mode)
		}
	}
	if len(v) > 0 {
		f.hex(8, v)
	}
}

func (f *formatter) update(u *Update, msgLen int) {
	if msgLen == minUpdateLen {
		f.line(2, "End-of-Rib Marker (empty NLRI)")
		return
	}
	if len(u.Withdrawn) > 0 {
		f.line(2, "Withdrawn routes:")
		for _, p := range u.Withdrawn {
			f.line(4, "%v", p)
		}
	}
	for _, a := range u.Attrs {
		b, err := appendAttr(nil, a, f.o)
		if err != nil {
			f.line(2, "%s (%d): cannot encode: %v", a.Code(), uint8(a.Code()), err)
			continue
		}
		f.attr(a, b)
	}
	if len(u.NLRI) > 0 {
		f.line(2, "Updated routes:")
		for _, p := range u.NLRI {
			f.line(4, "%v", p)
		}
	}
}

// attr renders one attribute from its encoding b (flags, code, length,
// value).
func (f *formatter) attr(a Attr, b []byte) {
	flags := AttrFlags(b[0])
	hl := 3
	if flags&FlagExtendedLength != 0 {
		hl = 4
	}
	v := b[hl:]
	head := fmt.Sprintf("%s (%d), length: %d, Flags [%s]: ", a.Code(), uint8(a.Code()), len(v), flags)
	switch a := a.(type) {
	case Origin:
		f.line(2, "%s%s", head, a.Value)
	case ASPath:
		f.line(2, "%s%s", head, tcpdumpPath(a.Segments))
	case AS4Path:
		f.line(2, "%s%s", head, tcpdumpPath(a.Segments))
	case NextHop:
		f.line(2, "%s%v", head, a.Addr)
	case MED:
		f.line(2, "%s%d", head, a.Value)
	case LocalPref:
		f.line(2, "%s%d", head, a.Value)
	case Aggregator:
		f.line(2, "%sAS #%d, origin %v", head, a.AS, a.Addr)
	case AS4Aggregator:
		f.line(2, "%sAS #%d, origin %v", head, a.AS, a.Addr)
	case Communities:
		s := make([]string, len(a.Values))
		for i, c := range a.Values {
			s[i] = c.String()
		}
		f.line(2, "%s%s", head, strings.Join(s, ", "))
	case OriginatorID:
		f.line(2, "%s%v", head, a.ID)
	case ClusterList:
		s := make([]string, len(a.IDs))
		for i, id := range a.IDs {
			s[i] = id.String()
		}
		f.line(2, "%s%s", head, strings.Join(s, ", "))
	case LargeCommunities:
		s := make([]string, len(a.Values))
		for i, c := range a.Values {
			s[i] = c.String()
		}
		f.line(2, "%s%s", head, strings.Join(s, ", "))
	case ExtendedCommunities:
		f.line(2, "%s", head)
		for _, c := range a.Values {
			f.line(4, "%v", c)
		}
	case MPReachNLRI:
		f.line(2, "%s", head)
		f.line(4, "AFI: %s (%d), SAFI: %s (%d)", a.AFI, uint16(a.AFI), a.SAFI, uint8(a.SAFI))
		if len(a.Raw) == 0 {
			nh := make([]string, len(a.NextHops))
			n := 0
			for i, x := range a.NextHops {
				nh[i] = x.String()
				n += x.BitLen() / 8
			}
			f.line(4, "nexthop: %s, nh-length: %d, no SNPA", strings.Join(nh, ", "), n)
			f.prefixes(a.NLRI, false)
		}
	case MPUnreachNLRI:
		f.line(2, "%s", head)
		f.line(4, "AFI: %s (%d), SAFI: %s (%d)", a.AFI, uint16(a.AFI), a.SAFI, uint8(a.SAFI))
		if len(a.Raw) == 0 {
			f.prefixes(a.Withdrawn, true)
		}
	default:
		f.line(2, "%s", head)
	}
	if len(v) > 0 {
		f.hex(4, v)
	}
}

func (f *formatter) prefixes(ps []netip.Prefix, eor bool) {
	if len(ps) == 0 && eor {
		f.line(6, "End-of-Rib Marker (empty NLRI)")
	}
	for _, p := range ps {
		f.line(6, "%v", p)
	}
}

// tcpdumpPath renders segments as tcpdump does: "1 3 2 " for a sequence
// (trailing space included, as the seed shows), "{ 1 2 }" for a set,
// "( 1 2 )" and "({ 1 2 })" for confederation segments, "empty" for none;
// unlike tcpdump, a space follows each closing bracket.
func tcpdumpPath(segs []ASSegment) string {
	if len(segs) == 0 {
		return "empty"
	}
	var sb strings.Builder
	for _, s := range segs {
		open, closing := "", ""
		switch s.Type {
		case ASSet:
			open, closing = "{ ", "} "
		case ASConfedSequence:
			open, closing = "( ", ") "
		case ASConfedSet:
			open, closing = "({ ", "}) "
		}
		sb.WriteString(open)
		for _, a := range s.ASNs {
			fmt.Fprintf(&sb, "%d ", a)
		}
		sb.WriteString(closing)
	}
	return sb.String()
}

func (f *formatter) notification(m *Notification) {
	sub := SubcodeName(m.Code, m.Subcode)
	if sub == "" {
		f.line(2, "%s (%d)", CodeName(m.Code), m.Code)
	} else {
		f.line(2, "%s (%d), subcode %s (%d)", CodeName(m.Code), m.Code, sub, m.Subcode)
	}
	if len(m.Data) == 0 {
		return
	}
	if msg, ok := m.ShutdownMessage(); ok {
		f.line(4, "Shutdown Communication (length: %d): %s", len(msg), strconv.Quote(msg))
	} else if d := m.dataText(); !strings.HasPrefix(d, "data ") {
		f.line(4, "%s", d)
	}
	f.hex(4, m.Data)
}

// Summary renders m on one line for message logs: "OPEN AS 1 hold 180s id
// 0.0.0.2 ...", "UPDATE 2001:1234:1::/64 nh 2001:12::a path 1",
// "UPDATE End-of-RIB IPv6 Unicast", "UPDATE withdraw 2001:1234:2::/64",
// "NOTIFICATION Hold Timer Expired (4/0)", "KEEPALIVE".
func Summary(m Message) string {
	switch m := m.(type) {
	case *Open:
		s := fmt.Sprintf("OPEN AS %d hold %ds id %v", m.AS(), m.HoldTime, m.ID)
		var caps []string
		for _, c := range m.Capabilities {
			caps = append(caps, capSummary(c))
		}
		if len(caps) > 0 {
			s += " caps " + strings.Join(caps, " ")
		}
		return s
	case *Update:
		return "UPDATE " + updateSummary(m)
	case *Notification:
		return "NOTIFICATION " + m.String()
	case *Keepalive:
		return "KEEPALIVE"
	case *RouteRefresh:
		s := "ROUTE-REFRESH "
		if m.Subtype != RefreshNormal {
			s += refreshSubtypeName(m.Subtype) + " "
		}
		return s + Family{m.AFI, m.SAFI}.String()
	}
	return fmt.Sprintf("%v", m)
}

func capSummary(c Capability) string {
	switch c := c.(type) {
	case CapMultiprotocol:
		return strings.ToLower(c.AFI.String() + "-" + c.SAFI.String())
	case CapRouteRefresh:
		if c.Code() == CapCodeRouteRefreshCisco {
			return "route-refresh(old)"
		}
		return "route-refresh"
	case CapEnhancedRouteRefresh:
		return "enhanced-route-refresh"
	case CapAS4:
		return fmt.Sprintf("as4(%d)", c.AS)
	case CapGracefulRestart:
		return fmt.Sprintf("graceful-restart(%ds)", c.Time)
	case CapExtendedMessage:
		return "extended-message"
	case CapFQDN:
		return "hostname(" + c.Hostname + ")"
	case CapAddPath:
		return "add-path"
	}
	if _, ok := capNames[c.Code()]; ok {
		return strings.ToLower(strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(c.Code().String()))
	}
	return fmt.Sprintf("cap-%d", uint8(c.Code()))
}

const summaryPrefixes = 4

func prefixList(ps []netip.Prefix) string {
	var sb strings.Builder
	for i, p := range ps {
		if i == summaryPrefixes {
			fmt.Fprintf(&sb, " (+%d more)", len(ps)-i)
			break
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(p.String())
	}
	return sb.String()
}

func updateSummary(u *Update) string {
	if afi, safi, ok := u.IsEndOfRIB(); ok {
		return "End-of-RIB " + Family{afi, safi}.String()
	}
	var parts []string
	var reach []netip.Prefix
	reach = append(reach, u.NLRI...)
	var nh string
	if a, ok := u.NextHop(); ok && len(u.NLRI) > 0 {
		nh = a.Addr.String()
	}
	if r, ok := u.MPReach(); ok {
		reach = append(reach, r.NLRI...)
		if len(r.NextHops) > 0 && nh == "" {
			nh = r.NextHops[0].String()
		}
		if len(r.Raw) > 0 {
			parts = append(parts, Family{r.AFI, r.SAFI}.String()+" routes")
		}
	}
	if len(reach) > 0 {
		s := prefixList(reach)
		if nh != "" {
			s += " nh " + nh
		}
		if p, ok := u.ASPath(); ok {
			if p.String() == "" {
				s += " path (empty)"
			} else {
				s += " path " + p.String()
			}
		}
		parts = append(parts, s)
	}
	var wd []netip.Prefix
	wd = append(wd, u.Withdrawn...)
	if r, ok := u.MPUnreach(); ok {
		wd = append(wd, r.Withdrawn...)
	}
	if len(wd) > 0 {
		parts = append(parts, "withdraw "+prefixList(wd))
	}
	if len(parts) == 0 {
		return "(no routes)"
	}
	return strings.Join(parts, "; ")
}
