package wire

import (
	"encoding/hex"
	"encoding/json"
	"net/netip"
)

// JSON: every message, attribute and capability marshals with
// encoding/json to an object with snake_case keys, for the shell's --json
// message trace. Enumerations marshal as their names ("IPv6", "Unicast",
// "UPDATE"), communities as text ("65001:100", "no-export"), raw bytes as
// hex. Unmarshalling is not provided.

// MarshalText returns the message type name, e.g. "UPDATE".
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// MarshalText returns the AFI name, e.g. "IPv6".
func (a AFI) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// MarshalText returns the SAFI name, e.g. "Unicast".
func (s SAFI) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText returns the family name, e.g. "IPv6 Unicast"; families can
// thus be JSON object keys.
func (f Family) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// MarshalText returns the action name, e.g. "treat-as-withdraw".
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// MarshalText returns the flag letters, e.g. "OE".
func (f AttrFlags) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// MarshalText returns the origin name, e.g. "IGP".
func (v OriginValue) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// MarshalText returns the segment type name, e.g. "AS_SEQUENCE".
func (t SegmentType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// MarshalText returns the community as text, e.g. "65001:100".
func (c Community) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// MarshalText returns the extended community as text, e.g. "RT:65001:100".
func (c ExtendedCommunity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// MarshalText returns the large community as text, e.g. "65001:1:2".
func (c LargeCommunity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// MarshalJSON marshals the OPEN.
func (m Open) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type           Type         `json:"type"`
		Version        uint8        `json:"version"`
		MyAS           uint16       `json:"my_as"`
		AS             uint32       `json:"as"`
		HoldTime       uint16       `json:"hold_time"`
		ID             netip.Addr   `json:"id"`
		Capabilities   []Capability `json:"capabilities"`
		ParamGroups    []int        `json:"param_groups,omitempty"`
		ExtendedParams bool         `json:"extended_params,omitempty"`
	}{TypeOpen, m.Version, m.MyAS, m.AS(), m.HoldTime, m.ID, capsJSON(m.Capabilities), m.ParamGroups, m.ExtendedParams})
}

// capsJSON wraps the capabilities so that those without a MarshalJSON of
// their own (none today) still marshal with their code.
func capsJSON(caps []Capability) []Capability {
	if caps == nil {
		return []Capability{}
	}
	return caps
}

type capHead struct {
	Code CapabilityCode `json:"code"`
	Name string         `json:"name"`
}

func headOf(c Capability) capHead { return capHead{c.Code(), c.Code().String()} }

// MarshalJSON marshals the capability.
func (c CapMultiprotocol) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		capHead
		AFI  AFI  `json:"afi"`
		SAFI SAFI `json:"safi"`
	}{headOf(c), c.AFI, c.SAFI})
}

// MarshalJSON marshals the capability.
func (c CapRouteRefresh) MarshalJSON() ([]byte, error) { return json.Marshal(headOf(c)) }

// MarshalJSON marshals the capability.
func (c CapEnhancedRouteRefresh) MarshalJSON() ([]byte, error) { return json.Marshal(headOf(c)) }

// MarshalJSON marshals the capability.
func (c CapExtendedMessage) MarshalJSON() ([]byte, error) { return json.Marshal(headOf(c)) }

// MarshalJSON marshals the capability.
func (c CapAS4) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		capHead
		AS uint32 `json:"as"`
	}{headOf(c), c.AS})
}

// MarshalJSON marshals the capability.
func (c CapGracefulRestart) MarshalJSON() ([]byte, error) {
	type fam struct {
		AFI        AFI  `json:"afi"`
		SAFI       SAFI `json:"safi"`
		Forwarding bool `json:"forwarding_preserved"`
	}
	fams := make([]fam, len(c.Families))
	for i, f := range c.Families {
		fams[i] = fam{f.AFI, f.SAFI, f.Flags&GRForwarding != 0}
	}
	return json.Marshal(struct {
		capHead
		Restarting   bool  `json:"restarting"`
		Notification bool  `json:"notification"`
		RestartTime  int   `json:"restart_time"`
		Families     []fam `json:"families"`
	}{headOf(c), c.Flags&GRRestarting != 0, c.Flags&GRNotification != 0, int(c.Time), fams})
}

// MarshalJSON marshals the capability.
func (c CapFQDN) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		capHead
		Hostname string `json:"hostname"`
		Domain   string `json:"domain"`
	}{headOf(c), c.Hostname, c.Domain})
}

// MarshalJSON marshals the capability.
func (c CapAddPath) MarshalJSON() ([]byte, error) {
	type fam struct {
		AFI     AFI  `json:"afi"`
		SAFI    SAFI `json:"safi"`
		Send    bool `json:"send"`
		Receive bool `json:"receive"`
	}
	fams := make([]fam, len(c.Families))
	for i, f := range c.Families {
		fams[i] = fam{f.AFI, f.SAFI, f.SendReceive&2 != 0, f.SendReceive&1 != 0}
	}
	return json.Marshal(struct {
		capHead
		Families []fam `json:"families"`
	}{headOf(c), fams})
}

// MarshalJSON marshals the capability.
func (c CapUnknown) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		capHead
		Data hexBytes `json:"data"`
	}{headOf(c), c.Data})
}

// MarshalJSON marshals the UPDATE.
func (u Update) MarshalJSON() ([]byte, error) {
	var eor *Family
	if afi, safi, ok := u.IsEndOfRIB(); ok {
		eor = &Family{afi, safi}
	}
	attrs := u.Attrs
	if attrs == nil {
		attrs = []Attr{}
	}
	return json.Marshal(struct {
		Type       Type           `json:"type"`
		EndOfRIB   *Family        `json:"end_of_rib,omitempty"`
		Withdrawn  []netip.Prefix `json:"withdrawn,omitempty"`
		Attributes []Attr         `json:"attributes"`
		NLRI       []netip.Prefix `json:"nlri,omitempty"`
	}{TypeUpdate, eor, u.Withdrawn, attrs, u.NLRI})
}

type attrHead struct {
	Code  AttrCode  `json:"code"`
	Name  string    `json:"name"`
	Flags AttrFlags `json:"flags"`
}

func attrJSON(a Attr, value any) ([]byte, error) {
	return json.Marshal(struct {
		attrHead
		Value any `json:"value,omitempty"`
	}{attrHead{a.Code(), a.Code().String(), a.Flags()}, value})
}

// MarshalJSON marshals the attribute: {"code":1,"name":"Origin","flags":"T","value":"IGP"}.
func (a Origin) MarshalJSON() ([]byte, error) { return attrJSON(a, a.Value) }

type segmentJSON struct {
	Type SegmentType `json:"type"`
	ASNs []uint32    `json:"asns"`
}

func segmentsJSON(segs []ASSegment) []segmentJSON {
	out := make([]segmentJSON, len(segs))
	for i, s := range segs {
		out[i] = segmentJSON(s)
	}
	return out
}

// MarshalJSON marshals the attribute; its value is the list of segments.
func (a ASPath) MarshalJSON() ([]byte, error) { return attrJSON(a, segmentsJSON(a.Segments)) }

// MarshalJSON marshals the attribute; its value is the list of segments.
func (a AS4Path) MarshalJSON() ([]byte, error) { return attrJSON(a, segmentsJSON(a.Segments)) }

// MarshalJSON marshals the attribute.
func (a NextHop) MarshalJSON() ([]byte, error) { return attrJSON(a, a.Addr) }

// MarshalJSON marshals the attribute.
func (a MED) MarshalJSON() ([]byte, error) { return attrJSON(a, &a.Value) }

// MarshalJSON marshals the attribute.
func (a LocalPref) MarshalJSON() ([]byte, error) { return attrJSON(a, &a.Value) }

// MarshalJSON marshals the attribute, which has no value.
func (a AtomicAggregate) MarshalJSON() ([]byte, error) { return attrJSON(a, nil) }

type aggregatorJSON struct {
	AS   uint32     `json:"as"`
	Addr netip.Addr `json:"address"`
}

// MarshalJSON marshals the attribute.
func (a Aggregator) MarshalJSON() ([]byte, error) {
	return attrJSON(a, aggregatorJSON{a.AS, a.Addr})
}

// MarshalJSON marshals the attribute.
func (a AS4Aggregator) MarshalJSON() ([]byte, error) {
	return attrJSON(a, aggregatorJSON{a.AS, a.Addr})
}

// MarshalJSON marshals the attribute.
func (a Communities) MarshalJSON() ([]byte, error) { return attrJSON(a, a.Values) }

// MarshalJSON marshals the attribute.
func (a OriginatorID) MarshalJSON() ([]byte, error) { return attrJSON(a, a.ID) }

// MarshalJSON marshals the attribute.
func (a ClusterList) MarshalJSON() ([]byte, error) { return attrJSON(a, a.IDs) }

// MarshalJSON marshals the attribute.
func (a ExtendedCommunities) MarshalJSON() ([]byte, error) { return attrJSON(a, a.Values) }

// MarshalJSON marshals the attribute.
func (a LargeCommunities) MarshalJSON() ([]byte, error) { return attrJSON(a, a.Values) }

// MarshalJSON marshals the attribute.
func (a MPReachNLRI) MarshalJSON() ([]byte, error) {
	return attrJSON(a, struct {
		AFI      AFI            `json:"afi"`
		SAFI     SAFI           `json:"safi"`
		NextHops []netip.Addr   `json:"next_hops,omitempty"`
		NLRI     []netip.Prefix `json:"nlri,omitempty"`
		Raw      hexBytes       `json:"raw,omitempty"`
	}{a.AFI, a.SAFI, a.NextHops, a.NLRI, a.Raw})
}

// MarshalJSON marshals the attribute.
func (a MPUnreachNLRI) MarshalJSON() ([]byte, error) {
	return attrJSON(a, struct {
		AFI       AFI            `json:"afi"`
		SAFI      SAFI           `json:"safi"`
		Withdrawn []netip.Prefix `json:"withdrawn,omitempty"`
		Raw       hexBytes       `json:"raw,omitempty"`
	}{a.AFI, a.SAFI, a.Withdrawn, a.Raw})
}

// MarshalJSON marshals the attribute; its value is hex.
func (a UnknownAttr) MarshalJSON() ([]byte, error) { return attrJSON(a, hexBytes(a.Value)) }

// MarshalJSON marshals the NOTIFICATION with its names and readable text.
func (m Notification) MarshalJSON() ([]byte, error) {
	var shut *string
	if s, ok := m.ShutdownMessage(); ok {
		shut = &s
	}
	return json.Marshal(struct {
		Type            Type     `json:"type"`
		Code            uint8    `json:"code"`
		Subcode         uint8    `json:"subcode"`
		CodeName        string   `json:"code_name"`
		SubcodeName     string   `json:"subcode_name,omitempty"`
		Data            hexBytes `json:"data,omitempty"`
		ShutdownMessage *string  `json:"shutdown_message,omitempty"`
		Text            string   `json:"text"`
	}{TypeNotification, m.Code, m.Subcode, CodeName(m.Code), SubcodeName(m.Code, m.Subcode), m.Data, shut, m.String()})
}

// MarshalJSON marshals the KEEPALIVE: {"type":"KEEPALIVE"}.
func (Keepalive) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type Type `json:"type"`
	}{TypeKeepalive})
}

// MarshalJSON marshals the ROUTE-REFRESH.
func (m RouteRefresh) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type    Type     `json:"type"`
		AFI     AFI      `json:"afi"`
		SAFI    SAFI     `json:"safi"`
		Subtype uint8    `json:"subtype"`
		ORF     hexBytes `json:"orf,omitempty"`
	}{TypeRouteRefresh, m.AFI, m.SAFI, m.Subtype, m.ORF})
}

// MarshalJSON marshals the error with its names, for JSON logs.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Code        uint8    `json:"code"`
		Subcode     uint8    `json:"subcode"`
		CodeName    string   `json:"code_name"`
		SubcodeName string   `json:"subcode_name,omitempty"`
		Data        hexBytes `json:"data,omitempty"`
		Action      Action   `json:"action"`
		Reason      string   `json:"reason,omitempty"`
	}{e.Code, e.Subcode, CodeName(e.Code), SubcodeName(e.Code, e.Subcode), e.Data, e.Action, e.Reason})
}
