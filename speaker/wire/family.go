package wire

import "fmt"

// AFI is an Address Family Identifier (RFC 4760 §3, IANA registry).
type AFI uint16

// Address families.
const (
	AFIIPv4  AFI = 1
	AFIIPv6  AFI = 2
	AFIL2VPN AFI = 25
	AFIBGPLS AFI = 16388
)

// String returns "IPv4", "IPv6", ... as tcpdump names them.
func (a AFI) String() string {
	switch a {
	case AFIIPv4:
		return "IPv4"
	case AFIIPv6:
		return "IPv6"
	case AFIL2VPN:
		return "Layer-2 VPN"
	case AFIBGPLS:
		return "BGP-LS"
	}
	return fmt.Sprintf("AFI(%d)", uint16(a))
}

// SAFI is a Subsequent Address Family Identifier (RFC 4760 §6).
type SAFI uint8

// Subsequent address families.
const (
	SAFIUnicast        SAFI = 1
	SAFIMulticast      SAFI = 2
	SAFILabeledUnicast SAFI = 4
	SAFIEVPN           SAFI = 70
	SAFIBGPLS          SAFI = 71
	SAFIVPNUnicast     SAFI = 128
	SAFIFlowspec       SAFI = 133
)

// String returns "Unicast", "Multicast", ...
func (s SAFI) String() string {
	switch s {
	case SAFIUnicast:
		return "Unicast"
	case SAFIMulticast:
		return "Multicast"
	case SAFILabeledUnicast:
		return "Labeled Unicast"
	case SAFIEVPN:
		return "EVPN"
	case SAFIBGPLS:
		return "BGP-LS"
	case SAFIVPNUnicast:
		return "VPN Unicast"
	case SAFIFlowspec:
		return "Flowspec"
	}
	return fmt.Sprintf("SAFI(%d)", uint8(s))
}

// Family is an AFI/SAFI pair.
type Family struct {
	AFI  AFI
	SAFI SAFI
}

// The families this codec decodes NLRI of.
var (
	IPv4Unicast = Family{AFIIPv4, SAFIUnicast}
	IPv6Unicast = Family{AFIIPv6, SAFIUnicast}
)

// String returns "IPv4 Unicast", as FRR's neighbor output names families.
func (f Family) String() string { return f.AFI.String() + " " + f.SAFI.String() }

// prefixFamily reports whether the NLRI of f are plain prefixes (RFC 4760
// §5), which this codec decodes to netip.Prefix; other families are kept as
// raw bytes.
func (f Family) prefixFamily() bool {
	return (f.AFI == AFIIPv4 || f.AFI == AFIIPv6) && (f.SAFI == SAFIUnicast || f.SAFI == SAFIMulticast)
}
