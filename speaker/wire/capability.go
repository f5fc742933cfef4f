package wire

import (
	"encoding/binary"
	"fmt"
)

// CapabilityCode is a capability code (RFC 5492 §4, IANA registry).
type CapabilityCode uint8

// Capability codes.
const (
	CapCodeMultiprotocol        CapabilityCode = 1   // RFC 4760
	CapCodeRouteRefresh         CapabilityCode = 2   // RFC 2918
	CapCodeORF                  CapabilityCode = 3   // RFC 5291
	CapCodeExtendedNextHop      CapabilityCode = 5   // RFC 8950
	CapCodeExtendedMessage      CapabilityCode = 6   // RFC 8654
	CapCodeRole                 CapabilityCode = 9   // RFC 9234
	CapCodeGracefulRestart      CapabilityCode = 64  // RFC 4724
	CapCodeAS4                  CapabilityCode = 65  // RFC 6793
	CapCodeDynamic              CapabilityCode = 67  // draft-ietf-idr-dynamic-cap
	CapCodeAddPath              CapabilityCode = 69  // RFC 7911
	CapCodeEnhancedRouteRefresh CapabilityCode = 70  // RFC 7313
	CapCodeLLGR                 CapabilityCode = 71  // RFC 9494
	CapCodeFQDN                 CapabilityCode = 73  // draft-walton-bgp-hostname-capability
	CapCodeSoftwareVersion      CapabilityCode = 75  // draft-abraitis-bgp-version-capability
	CapCodeRouteRefreshCisco    CapabilityCode = 128 // the pre-standard route refresh code
)

var capNames = map[CapabilityCode]string{
	CapCodeMultiprotocol:        "Multiprotocol Extensions",
	CapCodeRouteRefresh:         "Route Refresh",
	CapCodeORF:                  "Cooperative Route Filtering",
	4:                           "Multiple Routes to a Destination",
	CapCodeExtendedNextHop:      "Extended Next Hop Encoding",
	CapCodeExtendedMessage:      "BGP Extended Message",
	CapCodeRole:                 "BGP Role",
	CapCodeGracefulRestart:      "Graceful Restart",
	CapCodeAS4:                  "32-Bit AS Number",
	CapCodeDynamic:              "Dynamic Capability",
	68:                          "Multisession BGP",
	CapCodeAddPath:              "Multiple Paths",
	CapCodeEnhancedRouteRefresh: "Enhanced Route Refresh",
	CapCodeLLGR:                 "Long-lived Graceful Restart",
	CapCodeFQDN:                 "Hostname",
	CapCodeSoftwareVersion:      "Software Version",
	CapCodeRouteRefreshCisco:    "Route Refresh (Cisco)",
}

// String returns the capability's name as tcpdump prints it, e.g.
// "32-Bit AS Number".
func (c CapabilityCode) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Unknown Capability %d", uint8(c))
}

// Capability is one capability of an OPEN message. The concrete types are
// CapMultiprotocol, CapRouteRefresh, CapEnhancedRouteRefresh, CapAS4,
// CapGracefulRestart, CapExtendedMessage, CapFQDN, CapAddPath and
// CapUnknown; they are used as values.
type Capability interface {
	Code() CapabilityCode
}

// CapMultiprotocol announces an address family (RFC 4760 §8).
type CapMultiprotocol struct {
	AFI  AFI
	SAFI SAFI
}

// Code returns CapCodeMultiprotocol.
func (CapMultiprotocol) Code() CapabilityCode { return CapCodeMultiprotocol }

// CapRouteRefresh announces route refresh (RFC 2918 §2), under the
// standard code 2 or the pre-standard code 128 that Quagga and Cisco send
// too, as the seed's OPEN shows.
type CapRouteRefresh struct {
	// CapCode is zero for the standard code (decoding gives zero) or
	// CapCodeRouteRefreshCisco.
	CapCode CapabilityCode
}

// Code returns CapCode, or CapCodeRouteRefresh when CapCode is zero.
func (c CapRouteRefresh) Code() CapabilityCode {
	if c.CapCode == 0 {
		return CapCodeRouteRefresh
	}
	return c.CapCode
}

// CapEnhancedRouteRefresh announces enhanced route refresh (RFC 7313 §3).
type CapEnhancedRouteRefresh struct{}

// Code returns CapCodeEnhancedRouteRefresh.
func (CapEnhancedRouteRefresh) Code() CapabilityCode { return CapCodeEnhancedRouteRefresh }

// CapAS4 announces 4-octet AS support and carries the speaker's AS
// (RFC 6793 §3).
type CapAS4 struct {
	AS uint32
}

// Code returns CapCodeAS4.
func (CapAS4) Code() CapabilityCode { return CapCodeAS4 }

// CapGracefulRestart is the graceful restart capability (RFC 4724 §3,
// with the N bit of RFC 8538).
type CapGracefulRestart struct {
	// Flags are the 4 restart flag bits: GRRestarting (R), GRNotification (N).
	Flags uint8
	// Time is the restart time in seconds (12 bits).
	Time     uint16
	Families []GRFamily `json:",omitempty"`
}

// Graceful restart flags.
const (
	GRRestarting   uint8 = 0x8 // R: the speaker has restarted (RFC 4724)
	GRNotification uint8 = 0x4 // N: graceful NOTIFICATION support (RFC 8538)
)

// GRForwarding is the F bit of GRFamily.Flags: forwarding state was kept.
const GRForwarding uint8 = 0x80

// GRFamily is one address family of a graceful restart capability.
type GRFamily struct {
	AFI   AFI
	SAFI  SAFI
	Flags uint8
}

// Code returns CapCodeGracefulRestart.
func (CapGracefulRestart) Code() CapabilityCode { return CapCodeGracefulRestart }

// CapExtendedMessage announces messages up to 65535 bytes (RFC 8654 §3).
type CapExtendedMessage struct{}

// Code returns CapCodeExtendedMessage.
func (CapExtendedMessage) Code() CapabilityCode { return CapCodeExtendedMessage }

// CapFQDN is the hostname capability FRR sends
// (draft-walton-bgp-hostname-capability): the host and domain names.
type CapFQDN struct {
	Hostname string
	Domain   string
}

// Code returns CapCodeFQDN.
func (CapFQDN) Code() CapabilityCode { return CapCodeFQDN }

// CapAddPath is the ADD-PATH capability (RFC 7911 §4).
type CapAddPath struct {
	Families []AddPathFamily
}

// AddPathFamily is one family of CapAddPath; SendReceive is 1 (receive),
// 2 (send) or 3 (both).
type AddPathFamily struct {
	AFI         AFI
	SAFI        SAFI
	SendReceive uint8
}

// Code returns CapCodeAddPath.
func (CapAddPath) Code() CapabilityCode { return CapCodeAddPath }

// CapUnknown is a capability this codec does not decode, kept as raw bytes
// (RFC 5492 §3: a speaker ignores capabilities it does not understand).
type CapUnknown struct {
	CapCode CapabilityCode
	Data    []byte
}

// Code returns CapCode.
func (c CapUnknown) Code() CapabilityCode { return c.CapCode }

// decodeCapability decodes one capability value. It returns an *Error
// for a malformed known capability.
func decodeCapability(code CapabilityCode, v []byte) (Capability, error) {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnspecific,
			Reason: fmt.Sprintf("%s capability (%d): ", code, uint8(code)) + fmt.Sprintf(format, args...)}
	}
	wantLen := func(n int) error {
		if len(v) != n {
			return bad("length %d, want %d", len(v), n)
		}
		return nil
	}
	switch code {
	case CapCodeMultiprotocol:
		if err := wantLen(4); err != nil {
			return nil, err
		}
		return CapMultiprotocol{AFI: AFI(binary.BigEndian.Uint16(v)), SAFI: SAFI(v[3])}, nil
	case CapCodeRouteRefresh, CapCodeRouteRefreshCisco:
		if err := wantLen(0); err != nil {
			return nil, err
		}
		if code == CapCodeRouteRefresh {
			return CapRouteRefresh{}, nil // the zero value stands for code 2
		}
		return CapRouteRefresh{CapCode: code}, nil
	case CapCodeEnhancedRouteRefresh:
		if err := wantLen(0); err != nil {
			return nil, err
		}
		return CapEnhancedRouteRefresh{}, nil
	case CapCodeExtendedMessage:
		if err := wantLen(0); err != nil {
			return nil, err
		}
		return CapExtendedMessage{}, nil
	case CapCodeAS4:
		if err := wantLen(4); err != nil {
			return nil, err
		}
		as := binary.BigEndian.Uint32(v)
		if as == 0 {
			// RFC 7607 §2: AS 0 as the peer's AS is a Bad Peer AS.
			return nil, &Error{Code: CodeOpenMessage, Subcode: SubcodeBadPeerAS, Data: []byte{0, 0, 0, 0},
				Reason: "4-octet AS capability carries AS 0"}
		}
		return CapAS4{AS: as}, nil
	case CapCodeGracefulRestart:
		if len(v) < 2 || (len(v)-2)%4 != 0 {
			return nil, bad("length %d is not 2 + 4n", len(v))
		}
		c := CapGracefulRestart{Flags: v[0] >> 4, Time: binary.BigEndian.Uint16(v) & 0x0fff}
		for i := 2; i+4 <= len(v); i += 4 {
			c.Families = append(c.Families, GRFamily{
				AFI: AFI(binary.BigEndian.Uint16(v[i:])), SAFI: SAFI(v[i+2]), Flags: v[i+3]})
		}
		return c, nil
	case CapCodeFQDN:
		if len(v) < 1 || len(v) < 1+int(v[0])+1 {
			return nil, bad("length %d too short for the names", len(v))
		}
		hl := int(v[0])
		dl := int(v[1+hl])
		if len(v) != 2+hl+dl {
			return nil, bad("length %d, want %d for a %d-byte hostname and a %d-byte domain", len(v), 2+hl+dl, hl, dl)
		}
		return CapFQDN{Hostname: string(v[1 : 1+hl]), Domain: string(v[2+hl:])}, nil
	case CapCodeAddPath:
		if len(v)%4 != 0 {
			return nil, bad("length %d is not a multiple of 4", len(v))
		}
		var c CapAddPath
		for i := 0; i+4 <= len(v); i += 4 {
			c.Families = append(c.Families, AddPathFamily{
				AFI: AFI(binary.BigEndian.Uint16(v[i:])), SAFI: SAFI(v[i+2]), SendReceive: v[i+3]})
		}
		return c, nil
	}
	return CapUnknown{CapCode: code, Data: append([]byte(nil), v...)}, nil
}

// appendCapability appends one capability (code, length, value).
func appendCapability(b []byte, c Capability) ([]byte, error) {
	start := len(b)
	b = append(b, byte(c.Code()), 0)
	switch c := c.(type) {
	case CapMultiprotocol:
		b = binary.BigEndian.AppendUint16(b, uint16(c.AFI))
		b = append(b, 0, byte(c.SAFI))
	case CapRouteRefresh, CapEnhancedRouteRefresh, CapExtendedMessage:
	case CapAS4:
		b = binary.BigEndian.AppendUint32(b, c.AS)
	case CapGracefulRestart:
		if c.Flags > 0xf || c.Time > 0xfff {
			return b[:start], fmt.Errorf("graceful restart flags %#x or time %d out of range", c.Flags, c.Time)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(c.Flags)<<12|c.Time)
		for _, f := range c.Families {
			b = binary.BigEndian.AppendUint16(b, uint16(f.AFI))
			b = append(b, byte(f.SAFI), f.Flags)
		}
	case CapFQDN:
		if len(c.Hostname) > 255 || len(c.Domain) > 255 {
			return b[:start], fmt.Errorf("hostname capability names longer than 255 bytes")
		}
		b = append(b, byte(len(c.Hostname)))
		b = append(b, c.Hostname...)
		b = append(b, byte(len(c.Domain)))
		b = append(b, c.Domain...)
	case CapAddPath:
		for _, f := range c.Families {
			b = binary.BigEndian.AppendUint16(b, uint16(f.AFI))
			b = append(b, byte(f.SAFI), f.SendReceive)
		}
	case CapUnknown:
		b = append(b, c.Data...)
	default:
		return b[:start], fmt.Errorf("capability type %T cannot be encoded", c)
	}
	n := len(b) - start - 2
	if n > 255 {
		return b[:start], fmt.Errorf("%s capability value of %d bytes exceeds 255", c.Code(), n)
	}
	b[start+1] = byte(n)
	return b, nil
}
