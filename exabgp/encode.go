package exabgp

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"lab/speaker"
	"lab/speaker/wire"
)

// JSONVersion is what ExaBGP 4.2 puts in the "exabgp" key of its JSON
// messages: the version of the JSON format, not of ExaBGP (4.2.21 writes
// "4.0.1").
const JSONVersion = "4.0.1"

// Neighbor is the session a message is about, as ExaBGP names it: the
// configured local address and the peer's, and both AS numbers.
type Neighbor struct {
	Local, Peer     netip.Addr
	LocalAS, PeerAS uint32
}

// Encoder renders what a program reads on its standard input, in ExaBGP
// 4.2's JSON (the default) or text encoding, laid out as ExaBGP lays it
// out. Not safe for concurrent use (its counters).
type Encoder struct {
	// Text selects ExaBGP's text encoder.
	Text bool
	// Host, PID and PPID fill the JSON header's "host", "pid" and "ppid".
	Host      string
	PID, PPID int
	// counter is the JSON header's "counter": the messages rendered per
	// neighbour, as ExaBGP counts them.
	counter map[netip.Addr]int
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// header wraps content in ExaBGP's JSON envelope. n is nil for the
// messages about no neighbour (the shutdown notice), which have no
// counter.
func (e *Encoder) header(at time.Time, n *Neighbor, typ, content string) string {
	counter := ""
	if n != nil {
		if e.counter == nil {
			e.counter = map[netip.Addr]int{}
		}
		e.counter[n.Peer]++
		counter = fmt.Sprintf(`"counter": %d, `, e.counter[n.Peer])
	}
	t := strconv.FormatFloat(float64(at.Unix())+float64(at.Nanosecond())*1e-9, 'f', -1, 64)
	return fmt.Sprintf(`{ "exabgp": "%s", "time": %s, "host" : %s, "pid" : %d, "ppid" : %d, %s"type": "%s", %s }`,
		JSONVersion, t, jsonString(e.Host), e.PID, e.PPID, counter, typ, content)
}

// neighbor renders ExaBGP's "neighbor" object around content (which may
// be ""), with a direction when dir is not "".
func neighbor(n *Neighbor, dir, content string) string {
	d := ""
	if dir != "" {
		d = `, "direction": "` + dir + `"`
	}
	sep := " "
	if content != "" {
		sep = ", "
	}
	return fmt.Sprintf(`"neighbor": { "address": { "local": "%v", "peer": "%v" }, "asn": { "local": %d, "peer": %d } %s%s%s }`,
		n.Local, n.Peer, n.LocalAS, n.PeerAS, d, sep, content)
}

// State renders a state change: "connected", "up", or "down" with its
// reason.
func (e *Encoder) State(at time.Time, n Neighbor, state, reason string) string {
	if e.Text {
		if state == "down" {
			return fmt.Sprintf("neighbor %v down - %s\n", n.Peer, reason)
		}
		return fmt.Sprintf("neighbor %v %s\n", n.Peer, state)
	}
	content := `"state": "` + state + `"`
	if state == "down" {
		// ExaBGP turns brackets into parentheses, so that its reader
		// does not take the reason for a list.
		r := strings.NewReplacer("[", "(", "]", ")", "{", "(", "}", ")").Replace(reason)
		content += `, "reason": ` + jsonString(r)
	}
	return e.header(at, &n, "state", neighbor(&n, "", content))
}

// Shutdown renders the notice every program gets before it is stopped.
func (e *Encoder) Shutdown(at time.Time, pid, ppid int) string {
	if e.Text {
		return fmt.Sprintf("shutdown %d %d\n", pid, ppid)
	}
	return e.header(at, nil, "notification", `"notification": "shutdown"`)
}

// Message renders a message received (dir "receive") or sent ("send").
func (e *Encoder) Message(at time.Time, n Neighbor, dir string, m wire.Message) string {
	if e.Text {
		return textMessage(n, dir, m)
	}
	var typ, content string
	switch m := m.(type) {
	case *wire.Open:
		typ, content = "open", `"open": `+openJSON(m)
	case *wire.Keepalive:
		typ = "keepalive"
	case *wire.Notification:
		typ = "notification"
		content = fmt.Sprintf(`"notification": { "code": %d, "subcode": %d, "data": "%s" } `, m.Code, m.Subcode, hexUpper(m.Data))
	case *wire.RouteRefresh:
		// ExaBGP 4.2 quotes these values twice (`"afi": ""ipv4""`),
		// which no JSON parser reads: written once here.
		typ = "refresh"
		content = fmt.Sprintf(`"route-refresh": { "afi": "%s", "safi": "%s", "subtype": "%s" }`,
			afiName(m.AFI), safiName(m.SAFI), refreshSubtype(m.Subtype))
	case *wire.Update:
		typ, content = "update", `"message": `+updateJSON(m)
	default:
		return ""
	}
	return e.header(at, &n, typ, neighbor(&n, dir, content))
}

// hexUpper renders bytes as ExaBGP's hexstring does: "0x" and upper case.
func hexUpper(b []byte) string { return "0x" + strings.ToUpper(fmt.Sprintf("%x", b)) }

func afiName(a wire.AFI) string {
	switch a {
	case wire.AFIIPv4:
		return "ipv4"
	case wire.AFIIPv6:
		return "ipv6"
	}
	return strings.ToLower(a.String())
}

func safiName(s wire.SAFI) string {
	if s == wire.SAFIUnicast {
		return "unicast"
	}
	return strings.ToLower(s.String())
}

func refreshSubtype(s uint8) string {
	switch s {
	case wire.RefreshNormal:
		return "query"
	case wire.RefreshBoRR:
		return "begin"
	case wire.RefreshEoRR:
		return "end"
	}
	return strconv.Itoa(int(s))
}

// openJSON renders an OPEN's fields and capabilities, keyed by capability
// code as ExaBGP keys them.
func openJSON(m *wire.Open) string {
	type capEntry struct {
		code int
		json string
	}
	var caps []capEntry
	var families []string
	mpAt := -1
	for _, c := range m.Capabilities {
		var s string
		switch c := c.(type) {
		case wire.CapMultiprotocol:
			families = append(families, fmt.Sprintf(` "%s/%s"`, afiName(c.AFI), safiName(c.SAFI)))
			if mpAt >= 0 {
				continue
			}
			mpAt = len(caps)
		case wire.CapRouteRefresh:
			// ExaBGP says "RFC" for both codes.
			s = `{ "name": "route-refresh", "variant": "RFC" }`
		case wire.CapEnhancedRouteRefresh:
			s = `{ "name": "enhanced-route-refresh" }`
		case wire.CapAS4:
			s = fmt.Sprintf(`{ "name": "asn4", "asn4": %d }`, c.AS)
		case wire.CapExtendedMessage:
			s = `{ "name": "extended-message", "size": 65535 }`
		case wire.CapGracefulRestart:
			var fams []string
			for _, f := range c.Families {
				restart := ""
				if f.Flags&0x80 != 0 {
					restart = ` "restart"`
				}
				fams = append(fams, fmt.Sprintf(`"%s/%s": [%s ] `, afiName(f.AFI), safiName(f.SAFI), restart))
			}
			flags := " "
			if c.Flags&wire.GRRestarting != 0 {
				flags = ` "forwarding" `
			}
			s = fmt.Sprintf(`{ "name": "graceful restart", "time": %d, "address-family-flags": { %s}, "restart-flags": [%s] }`,
				c.Time, strings.Join(fams, ", "), flags)
		case wire.CapFQDN:
			s = fmt.Sprintf(`{ "host-name": %s, "domain-name": %s }`, jsonString(c.Hostname), jsonString(c.Domain))
		case wire.CapAddPath:
			var fams []string
			for _, f := range c.Families {
				dir := map[uint8]string{1: "receive", 2: "send", 3: "send/receive"}[f.SendReceive]
				fams = append(fams, fmt.Sprintf(`"%s/%s": "%s"`, afiName(f.AFI), safiName(f.SAFI), dir))
			}
			sep := ""
			if len(fams) > 0 {
				sep = ", "
			}
			s = `{ "name": "addpath"` + sep + strings.Join(fams, ",") + ` }`
		default:
			s = fmt.Sprintf(`{ "name": "unknown", "iana": "unassigned", "value": %d, "raw": "" }`, c.Code())
		}
		caps = append(caps, capEntry{int(c.Code()), s})
	}
	if mpAt >= 0 {
		caps[mpAt].json = `{ "name": "multiprotocol", "families": [` + strings.Join(families, ",") + ` ] }`
	}
	var parts []string
	seen := map[int]bool{}
	for _, c := range caps {
		if seen[c.code] {
			continue
		}
		seen[c.code] = true
		parts = append(parts, fmt.Sprintf(`"%d": %s`, c.code, c.json))
	}
	return fmt.Sprintf(`{ "version": %d, "asn": %d, "hold_time": %d, "router_id": "%v", "capabilities": { %s } }`,
		m.Version, m.AS(), m.HoldTime, m.ID, strings.Join(parts, ", "))
}

// routes are an UPDATE's announced and withdrawn prefixes by family, in
// the order ExaBGP lists them.
type routes struct {
	fam []wire.Family
	// announce: family -> next hops in order -> prefixes.
	nhs      map[wire.Family][]netip.Addr
	announce map[wire.Family]map[netip.Addr][]netip.Prefix
	withdraw map[wire.Family][]netip.Prefix
	wfam     []wire.Family
}

func updateRoutes(u *wire.Update) *routes {
	r := &routes{nhs: map[wire.Family][]netip.Addr{}, announce: map[wire.Family]map[netip.Addr][]netip.Prefix{},
		withdraw: map[wire.Family][]netip.Prefix{}}
	add := func(f wire.Family, nh netip.Addr, ps []netip.Prefix) {
		if len(ps) == 0 {
			return
		}
		if r.announce[f] == nil {
			r.announce[f] = map[netip.Addr][]netip.Prefix{}
			r.fam = append(r.fam, f)
		}
		if _, ok := r.announce[f][nh]; !ok {
			r.nhs[f] = append(r.nhs[f], nh)
		}
		r.announce[f][nh] = append(r.announce[f][nh], ps...)
	}
	del := func(f wire.Family, ps []netip.Prefix) {
		if len(ps) == 0 {
			return
		}
		if r.withdraw[f] == nil {
			r.wfam = append(r.wfam, f)
		}
		r.withdraw[f] = append(r.withdraw[f], ps...)
	}
	del(wire.IPv4Unicast, u.Withdrawn)
	if mu, ok := u.MPUnreach(); ok {
		del(wire.Family{AFI: mu.AFI, SAFI: mu.SAFI}, mu.Withdrawn)
	}
	if nh, ok := u.NextHop(); ok {
		add(wire.IPv4Unicast, nh.Addr, u.NLRI)
	} else {
		add(wire.IPv4Unicast, netip.Addr{}, u.NLRI)
	}
	if mp, ok := u.MPReach(); ok {
		f := wire.Family{AFI: mp.AFI, SAFI: mp.SAFI}
		// An IPv6 next hop of a global and a link-local address is two
		// next hops with the same prefixes, as ExaBGP lists it.
		for _, nh := range mp.NextHops {
			add(f, nh, mp.NLRI)
		}
		if len(mp.NextHops) == 0 {
			add(f, netip.Addr{}, mp.NLRI)
		}
	}
	return r
}

func nhString(a netip.Addr) string {
	if !a.IsValid() {
		return "null"
	}
	return a.String()
}

// updateJSON renders an UPDATE as ExaBGP's "message" value.
func updateJSON(u *wire.Update) string {
	if afi, safi, ok := u.IsEndOfRIB(); ok {
		return fmt.Sprintf(`{ "eor": { "afi" : "%s", "safi" : "%s" } }`, afiName(afi), safiName(safi))
	}
	r := updateRoutes(u)
	var add, remove []string
	for _, f := range r.fam {
		var m []string
		for _, nh := range r.nhs[f] {
			m = append(m, fmt.Sprintf(`"%s": [ %s ]`, nhString(nh), nlriList(r.announce[f][nh])))
		}
		add = append(add, fmt.Sprintf(`"%s": { %s }`, familyName(f), strings.Join(m, ", ")))
	}
	for _, f := range r.wfam {
		remove = append(remove, fmt.Sprintf(`"%s": [ %s ]`, familyName(f), nlriList(r.withdraw[f])))
	}
	var parts []string
	if a := attributesJSON(u.Attrs); a != "" {
		parts = append(parts, `"attribute": { `+a+` }`)
	}
	if len(add) > 0 {
		parts = append(parts, `"announce": { `+strings.Join(add, ", ")+` }`)
	}
	if len(remove) > 0 {
		parts = append(parts, `"withdraw": { `+strings.Join(remove, ", ")+` }`)
	}
	return `{ "update": { ` + strings.Join(parts, ", ") + ` } }`
}

func nlriList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = `{ "nlri": "` + p.String() + `" }`
	}
	return strings.Join(s, ", ")
}

// attributesJSON renders the path attributes, in type code order, with
// ExaBGP's names; "" when there are none (NEXT_HOP and the MP attributes
// are the NLRI's, not listed).
func attributesJSON(attrs []wire.Attr) string {
	sorted := slices.Clone(attrs)
	slices.SortStableFunc(sorted, func(a, b wire.Attr) int { return int(a.Code()) - int(b.Code()) })
	var out []string
	hasAggregator := false
	for _, a := range sorted {
		switch a := a.(type) {
		case wire.Origin:
			out = append(out, fmt.Sprintf(`"origin": "%s"`, originName(a.Value)))
		case wire.ASPath:
			seq, set, cseq, cset := pathParts(a.Segments)
			out = append(out, `"as-path": `+asList(seq, "[]"))
			if len(set) > 0 {
				out = append(out, `"as-set": `+asList(set, ""))
			}
			out = append(out, `"confederation-path": `+asList(cseq, "[]"))
			if len(cset) > 0 {
				out = append(out, `"confederation-set": `+asList(cset, ""))
			}
		case wire.MED:
			out = append(out, fmt.Sprintf(`"med": %d`, a.Value))
		case wire.LocalPref:
			out = append(out, fmt.Sprintf(`"local-preference": %d`, a.Value))
		case wire.AtomicAggregate:
			out = append(out, `"atomic-aggregate": true`)
		case wire.Aggregator:
			hasAggregator = true
			out = append(out, fmt.Sprintf(`"aggregator": "%d:%v"`, a.AS, a.Addr))
		case wire.AS4Aggregator:
			if !hasAggregator {
				out = append(out, fmt.Sprintf(`"aggregator": "%d:%v"`, a.AS, a.Addr))
			}
		case wire.Communities:
			s := make([]string, len(a.Values))
			for i, c := range a.Values {
				s[i] = fmt.Sprintf("[ %d, %d ]", uint32(c)>>16, uint32(c)&0xffff)
			}
			out = append(out, `"community": [ `+strings.Join(s, ", ")+` ]`)
		case wire.OriginatorID:
			out = append(out, fmt.Sprintf(`"originator-id": "%v"`, a.ID))
		case wire.ClusterList:
			s := make([]string, len(a.IDs))
			for i, id := range a.IDs {
				s[i] = `"` + id.String() + `"`
			}
			out = append(out, `"cluster-list": [ `+strings.Join(s, ", ")+` ]`)
		case wire.ExtendedCommunities:
			s := make([]string, len(a.Values))
			for i, c := range a.Values {
				s[i] = fmt.Sprintf(`{ "value": %d, "string": "%s" }`, binary.BigEndian.Uint64(c[:]), extCommunityString(c))
			}
			out = append(out, `"extended-community": [ `+strings.Join(s, ", ")+` ]`)
		case wire.LargeCommunities:
			s := make([]string, len(a.Values))
			for i, c := range a.Values {
				s[i] = fmt.Sprintf("[ %d, %d , %d ]", c.GlobalAdmin, c.LocalData1, c.LocalData2)
			}
			out = append(out, `"large-community": [ `+strings.Join(s, ", ")+` ]`)
		case wire.UnknownAttr:
			out = append(out, fmt.Sprintf(`"attribute-0x%02X-0x%02X": "0x%x"`, uint8(a.TypeCode), uint8(a.WireFlags), a.Value))
		}
		// NEXT_HOP, MP_REACH_NLRI, MP_UNREACH_NLRI and AS4_PATH (merged
		// by a 2-octet speaker, never sent with 4-octet AS numbers) are
		// not attributes in ExaBGP's JSON.
	}
	return strings.Join(out, ", ")
}

func originName(v wire.OriginValue) string {
	switch v {
	case wire.OriginIGP:
		return "igp"
	case wire.OriginEGP:
		return "egp"
	case wire.OriginIncomplete:
		return "incomplete"
	}
	return strconv.Itoa(int(v))
}

// pathParts splits a path's segments into ExaBGP's four lists.
func pathParts(segs []wire.ASSegment) (seq, set, cseq, cset []uint32) {
	for _, s := range segs {
		switch s.Type {
		case wire.ASSequence:
			seq = append(seq, s.ASNs...)
		case wire.ASSet:
			set = append(set, s.ASNs...)
		case wire.ASConfedSequence:
			cseq = append(cseq, s.ASNs...)
		case wire.ASConfedSet:
			cset = append(cset, s.ASNs...)
		}
	}
	return
}

func asList(as []uint32, empty string) string {
	if len(as) == 0 {
		return empty
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = strconv.FormatUint(uint64(a), 10)
	}
	return "[ " + strings.Join(s, ", ") + " ]"
}

// extCommunityString renders an extended community as ExaBGP 4.2 does:
// route targets and origins by name, others in hex. ExaBGP reads a
// 2-octet-AS origin's six value octets as an AS and an IPv4 address
// ("origin:258:3.4.0.7"): so does this.
func extCommunityString(c wire.ExtendedCommunity) string {
	typ, sub := c.Type()
	typ &^= 0x40 // the transitive bit
	u16 := func(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
	u32 := func(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
	ip := func(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }
	switch {
	case typ == 0x00 && sub == 0x02:
		return fmt.Sprintf("target:%d:%d", u16(c[2:]), u32(c[4:]))
	case typ == 0x01 && sub == 0x02:
		return fmt.Sprintf("target:%v:%d", ip(c[2:6]), u16(c[6:]))
	case typ == 0x02 && sub == 0x02:
		return fmt.Sprintf("target:%dL:%d", u32(c[2:]), u16(c[6:]))
	case typ == 0x00 && sub == 0x03:
		return fmt.Sprintf("origin:%d:%v", u16(c[2:]), ip(c[4:8]))
	case typ == 0x01 && sub == 0x03:
		return fmt.Sprintf("origin:%v:%d", ip(c[2:6]), u16(c[6:]))
	case typ == 0x02 && sub == 0x03:
		return fmt.Sprintf("origin:%dL:%d", u32(c[2:]), u16(c[6:]))
	}
	return fmt.Sprintf("0x%016X", binary.BigEndian.Uint64(c[:]))
}

// DownReason words why a session went down as ExaBGP words it: "peer
// reset, message (notification received (6,2)) error(Cease /
// Administrative Shutdown)".
func DownReason(r speaker.Reset) string {
	notif := func(how string) string {
		n := r.Notification
		name := wire.CodeName(n.Code)
		if s := wire.SubcodeName(n.Code, n.Subcode); s != "" {
			name += " / " + s
		}
		if msg, ok := n.ShutdownMessage(); ok && msg != "" {
			name += " / " + msg
		}
		return fmt.Sprintf("peer reset, message (notification %s (%d,%d)) error(%s)", how, n.Code, n.Subcode, name)
	}
	switch {
	case r.Notification != nil && r.Kind == speaker.NotificationReceived:
		return notif("received")
	case r.Notification != nil:
		return notif("sent")
	case r.Kind == speaker.PeerClosed:
		return "peer reset, message (closing connection) error(the TCP connection was closed by the remote end)"
	case r.Detail != "":
		return "peer reset, message (closing connection) error(" + r.Detail + ")"
	}
	return "peer reset, message (closing connection) error(" + r.Kind.String() + ")"
}
