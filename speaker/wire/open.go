package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Optional parameter types (RFC 5492 §4, RFC 9072 §2).
const (
	paramCapabilities = 2
	paramExtended     = 255
)

// Open is an OPEN message (RFC 4271 §4.2).
type Open struct {
	Version  uint8
	MyAS     uint16
	HoldTime uint16
	// ID is the BGP Identifier, an IPv4 address.
	ID           netip.Addr
	Capabilities []Capability
	// ParamGroups records how Capabilities were spread over Capabilities
	// optional parameters: the number of capabilities in each parameter,
	// in order. Nil means one capability per parameter, the layout the
	// seed's Quagga sends and the one this codec builds; BIRD and GoBGP
	// put them all in one parameter.
	ParamGroups []int `json:",omitempty"`
	// ExtendedParams selects the extended optional parameters encoding of
	// RFC 9072 even when the parameters would fit the classic one.
	// AppendTo switches to it by itself when they do not fit.
	ExtendedParams bool `json:",omitempty"`
}

// NewOpen returns an OPEN for a speaker of AS as, with BGP version 4. When
// as does not fit 2 octets, MyAS is AS_TRANS (RFC 6793 §4.2.1) and, unless
// caps has one, a 4-octet AS capability carrying as is appended.
func NewOpen(as uint32, hold uint16, id netip.Addr, caps ...Capability) *Open {
	my := uint16(as)
	if as > 0xffff {
		my = ASTrans
		has := false
		for _, c := range caps {
			if _, ok := c.(CapAS4); ok {
				has = true
			}
		}
		if !has {
			caps = append(caps[:len(caps):len(caps)], CapAS4{AS: as})
		}
	}
	return &Open{Version: 4, MyAS: my, HoldTime: hold, ID: id, Capabilities: caps}
}

// Type returns TypeOpen.
func (*Open) Type() Type { return TypeOpen }

// AS is the speaker's AS: the 4-octet AS capability's value if present,
// else MyAS.
func (m *Open) AS() uint32 {
	for _, c := range m.Capabilities {
		if c, ok := c.(CapAS4); ok {
			return c.AS
		}
	}
	return uint32(m.MyAS)
}

// Capability returns the first capability with code c.
func (m *Open) Capability(c CapabilityCode) (Capability, bool) {
	for _, x := range m.Capabilities {
		if x.Code() == c {
			return x, true
		}
	}
	return nil, false
}

// Families returns the families of the multiprotocol capabilities, in
// order. Without any, a speaker assumes IPv4 unicast (RFC 4760 §8).
func (m *Open) Families() []Family {
	var fs []Family
	for _, c := range m.Capabilities {
		if c, ok := c.(CapMultiprotocol); ok {
			fs = append(fs, Family(c))
		}
	}
	return fs
}

// Negotiate returns the options of a session whose local OPEN is local and
// whose peer's OPEN is peer: a property holds when both sent its capability.
func Negotiate(local, peer *Open) Options {
	both := func(c CapabilityCode) bool {
		_, a := local.Capability(c)
		_, b := peer.Capability(c)
		return a && b
	}
	return Options{AS4: both(CapCodeAS4), ExtendedMessage: both(CapCodeExtendedMessage)}
}

// Decode decodes an OPEN body and checks it as RFC 4271 §6.2 says: version
// 4, a hold time of 0 or at least 3 seconds, a non-zero BGP Identifier
// (RFC 6286 §2.2), a non-zero AS (RFC 7607 §2), and optional parameters that
// are all capabilities (RFC 5492 §4), in the classic or the extended
// encoding (RFC 9072 §2). Whether the AS is the expected one is the
// session's check (BadPeerAS).
func (m *Open) Decode(body []byte, _ *Options) error {
	*m = Open{}
	if len(body) < minOpenLen-HeaderLen {
		return &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data:   binary.BigEndian.AppendUint16(nil, uint16(HeaderLen+len(body))),
			Reason: fmt.Sprintf("OPEN length %d is below %d", HeaderLen+len(body), minOpenLen)}
	}
	m.Version = body[0]
	m.MyAS = binary.BigEndian.Uint16(body[1:3])
	m.HoldTime = binary.BigEndian.Uint16(body[3:5])
	m.ID = netip.AddrFrom4([4]byte(body[5:9]))
	if m.Version != 4 {
		// The data is the largest version we support (RFC 4271 §6.2).
		return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedVersionNumber, Data: []byte{0, 4},
			Reason: fmt.Sprintf("version %d, only 4 is supported", m.Version)}
	}
	if m.MyAS == 0 {
		return &Error{Code: CodeOpenMessage, Subcode: SubcodeBadPeerAS, Data: []byte{0, 0},
			Reason: "My Autonomous System is 0"}
	}
	if m.HoldTime == 1 || m.HoldTime == 2 {
		return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnacceptableHoldTime,
			Reason: fmt.Sprintf("hold time %ds is neither 0 nor at least 3s", m.HoldTime)}
	}
	if m.ID == netip.IPv4Unspecified() {
		return &Error{Code: CodeOpenMessage, Subcode: SubcodeBadBGPIdentifier, Data: []byte{0, 0, 0, 0},
			Reason: "BGP Identifier is 0.0.0.0"}
	}
	return m.decodeParams(body[9:])
}

// decodeParams decodes the Optional Parameters Length and what follows.
func (m *Open) decodeParams(b []byte) error {
	malformed := func(format string, args ...any) error {
		return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnspecific, Reason: fmt.Sprintf(format, args...)}
	}
	optLen := int(b[0])
	rest := b[1:]
	lenSize := 1
	if optLen == paramExtended && len(rest) > 0 && rest[0] == paramExtended {
		// RFC 9072 §2: Non-Ext OP Len 255 and Non-Ext OP Type 255 announce
		// a 2-octet Extended Opt. Parm. Length and 2-octet parameter lengths.
		if len(rest) < 3 {
			return malformed("extended optional parameters length is truncated")
		}
		optLen = int(binary.BigEndian.Uint16(rest[1:3]))
		rest = rest[3:]
		lenSize = 2
		m.ExtendedParams = true
	}
	if optLen != len(rest) {
		return malformed("optional parameters length %d but %d bytes follow", optLen, len(rest))
	}
	var groups []int
	canonical := true
	for i := 0; i < len(rest); {
		if len(rest)-i < 1+lenSize {
			return malformed("optional parameter header truncated at offset %d", i)
		}
		typ := rest[i]
		var plen int
		if lenSize == 2 {
			plen = int(binary.BigEndian.Uint16(rest[i+1:]))
		} else {
			plen = int(rest[i+1])
		}
		i += 1 + lenSize
		if len(rest)-i < plen {
			return malformed("optional parameter %d length %d overruns the %d bytes left", typ, plen, len(rest)-i)
		}
		v := rest[i : i+plen]
		i += plen
		if typ != paramCapabilities {
			return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedOptionalParameter,
				Reason: fmt.Sprintf("optional parameter type %d", typ)}
		}
		n := 0
		for j := 0; j < len(v); {
			if len(v)-j < 2 {
				return malformed("capability header truncated in a %d-byte parameter", len(v))
			}
			code, clen := CapabilityCode(v[j]), int(v[j+1])
			j += 2
			if len(v)-j < clen {
				return malformed("%s capability (%d) length %d overruns its parameter", code, uint8(code), clen)
			}
			c, err := decodeCapability(code, v[j:j+clen])
			if err != nil {
				return err
			}
			m.Capabilities = append(m.Capabilities, c)
			j += clen
			n++
		}
		if n != 1 {
			canonical = false
		}
		groups = append(groups, n)
	}
	if !canonical {
		m.ParamGroups = groups
	}
	return nil
}

// AppendTo appends the OPEN. A zero Version is written as 4.
func (m *Open) AppendTo(b []byte, _ *Options) ([]byte, error) {
	if !m.ID.Is4() {
		return b, fmt.Errorf("OPEN: BGP Identifier %v is not an IPv4 address", m.ID)
	}
	groups := m.ParamGroups
	if groups == nil {
		groups = make([]int, len(m.Capabilities))
		for i := range groups {
			groups[i] = 1
		}
	}
	sum := 0
	for _, g := range groups {
		if g < 0 {
			return b, fmt.Errorf("OPEN: negative parameter group %d", g)
		}
		sum += g
	}
	if sum != len(m.Capabilities) {
		return b, fmt.Errorf("OPEN: parameter groups hold %d capabilities but there are %d", sum, len(m.Capabilities))
	}
	params := make([][]byte, len(groups))
	caps := m.Capabilities
	ext := m.ExtendedParams
	classic := 0
	for i, g := range groups {
		var v []byte
		for _, c := range caps[:g] {
			var err error
			if v, err = appendCapability(v, c); err != nil {
				return b, fmt.Errorf("OPEN: %w", err)
			}
		}
		caps = caps[g:]
		params[i] = v
		if len(v) > 255 {
			ext = true
		}
		classic += 2 + len(v)
	}
	if classic > 255 {
		ext = true
	}
	start := len(b)
	b = appendHeader(b, TypeOpen)
	v := m.Version
	if v == 0 {
		v = 4
	}
	b = append(b, v)
	b = binary.BigEndian.AppendUint16(b, m.MyAS)
	b = binary.BigEndian.AppendUint16(b, m.HoldTime)
	id := m.ID.As4()
	b = append(b, id[:]...)
	if ext {
		total := 0
		for _, p := range params {
			total += 3 + len(p)
		}
		if total > 0xffff {
			return b[:start], fmt.Errorf("OPEN: %d bytes of optional parameters exceed 65535", total)
		}
		b = append(b, paramExtended, paramExtended)
		b = binary.BigEndian.AppendUint16(b, uint16(total))
		for _, p := range params {
			b = append(b, paramCapabilities)
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
	} else {
		b = append(b, byte(classic))
		for _, p := range params {
			b = append(b, paramCapabilities, byte(len(p)))
			b = append(b, p...)
		}
	}
	return finishMessage(b, start, MaxMessageLen)
}
