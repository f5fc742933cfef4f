package wire

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5).
const (
	CodeMessageHeader    uint8 = 1
	CodeOpenMessage      uint8 = 2
	CodeUpdateMessage    uint8 = 3
	CodeHoldTimerExpired uint8 = 4
	CodeFSM              uint8 = 5
	CodeCease            uint8 = 6
	CodeRouteRefresh     uint8 = 7
)

// SubcodeUnspecific is subcode 0 of every error code (RFC 4493).
const SubcodeUnspecific uint8 = 0

// Message Header Error subcodes (RFC 4271 §6.1).
const (
	SubcodeConnectionNotSynchronized uint8 = 1
	SubcodeBadMessageLength          uint8 = 2
	SubcodeBadMessageType            uint8 = 3
)

// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5, RFC 9234 §4.2).
const (
	SubcodeUnsupportedVersionNumber     uint8 = 1
	SubcodeBadPeerAS                    uint8 = 2
	SubcodeBadBGPIdentifier             uint8 = 3
	SubcodeUnsupportedOptionalParameter uint8 = 4
	SubcodeUnacceptableHoldTime         uint8 = 6
	SubcodeUnsupportedCapability        uint8 = 7
	SubcodeRoleMismatch                 uint8 = 11
)

// UPDATE Message Error subcodes (RFC 4271 §6.3).
const (
	SubcodeMalformedAttributeList         uint8 = 1
	SubcodeUnrecognizedWellKnownAttribute uint8 = 2
	SubcodeMissingWellKnownAttribute      uint8 = 3
	SubcodeAttributeFlagsError            uint8 = 4
	SubcodeAttributeLengthError           uint8 = 5
	SubcodeInvalidOrigin                  uint8 = 6
	SubcodeInvalidNextHop                 uint8 = 8
	SubcodeOptionalAttributeError         uint8 = 9
	SubcodeInvalidNetworkField            uint8 = 10
	SubcodeMalformedASPath                uint8 = 11
)

// Finite State Machine Error subcodes (RFC 6608 §3).
const (
	SubcodeUnexpectedInOpenSent    uint8 = 1
	SubcodeUnexpectedInOpenConfirm uint8 = 2
	SubcodeUnexpectedInEstablished uint8 = 3
)

// Cease subcodes (RFC 4486 §4, RFC 8538 §3, RFC 9384 §2).
const (
	SubcodeMaxPrefixes         uint8 = 1
	SubcodeAdminShutdown       uint8 = 2
	SubcodePeerDeconfigured    uint8 = 3
	SubcodeAdminReset          uint8 = 4
	SubcodeConnectionRejected  uint8 = 5
	SubcodeOtherConfigChange   uint8 = 6
	SubcodeConnectionCollision uint8 = 7
	SubcodeOutOfResources      uint8 = 8
	SubcodeHardReset           uint8 = 9
	SubcodeBFDDown             uint8 = 10
)

// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
const (
	SubcodeInvalidMessageLength uint8 = 1
)

// Action is the outcome of an error, as RFC 7606 §2 names it. Every error
// outside an UPDATE is ActionSessionReset, the zero value.
type Action uint8

const (
	// ActionSessionReset: send the NOTIFICATION and close the session.
	ActionSessionReset Action = iota
	// ActionAFISAFIDisable: stop exchanging the error's AFI/SAFI with the
	// peer (RFC 4760 §7); a speaker that cannot do that resets the session.
	ActionAFISAFIDisable
	// ActionTreatAsWithdraw: withdraw every route the UPDATE carries
	// (its NLRI, MP_REACH_NLRI and withdrawals) and keep the session
	// (RFC 7606 §2).
	ActionTreatAsWithdraw
	// ActionAttributeDiscard: the faulty attribute was dropped from the
	// decoded UPDATE; process the rest as usual (RFC 7606 §2).
	ActionAttributeDiscard
)

// String returns the RFC 7606 name of the action.
func (a Action) String() string {
	switch a {
	case ActionSessionReset:
		return "session-reset"
	case ActionAFISAFIDisable:
		return "afi-safi-disable"
	case ActionTreatAsWithdraw:
		return "treat-as-withdraw"
	case ActionAttributeDiscard:
		return "attribute-discard"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// severity orders actions from the mildest to the most severe, so that an
// UPDATE with several errors reports the one that dictates the strongest
// approach (RFC 7606 §3).
func (a Action) severity() int {
	switch a {
	case ActionAttributeDiscard:
		return 1
	case ActionTreatAsWithdraw:
		return 2
	case ActionAFISAFIDisable:
		return 3
	}
	return 4
}

// Error is a wire error: what a session sends in its NOTIFICATION (Code,
// Subcode, Data), what it must do about it (Action), and a readable Reason
// that names the faulty field. Match with errors.Is against the sentinel
// values (ErrBadPeerAS, ...), which compare Code and Subcode, or against a
// CodeClass (ErrUpdateMessage, ...), which compares Code only.
type Error struct {
	Code    uint8
	Subcode uint8
	Data    []byte
	// Action is the RFC 7606 outcome; ActionSessionReset for every error
	// that is not in an UPDATE message.
	Action Action
	// Reason says in words what was wrong and where.
	Reason string
	// AFI and SAFI name the family for ActionAFISAFIDisable.
	AFI  AFI
	SAFI SAFI
	// Attr is the attribute at fault, when there is one.
	Attr AttrCode
}

// Error implements error: "UPDATE Message Error/Malformed AS_PATH (3/11):
// reason [treat-as-withdraw]".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("bgp ")
	sb.WriteString(codeName(e.Code, e.Subcode))
	fmt.Fprintf(&sb, " (%d/%d)", e.Code, e.Subcode)
	if e.Reason != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Reason)
	}
	if e.Code == CodeUpdateMessage {
		sb.WriteString(" [")
		sb.WriteString(e.Action.String())
		if e.Action == ActionAFISAFIDisable {
			sb.WriteString(" ")
			sb.WriteString(Family{e.AFI, e.SAFI}.String())
		}
		sb.WriteString("]")
	}
	return sb.String()
}

// Is reports whether target is an *Error with the same code and subcode, or
// a CodeClass with the same code.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == e.Code && t.Subcode == e.Subcode
	case CodeClass:
		return uint8(t) == e.Code
	}
	return false
}

// Notification returns the NOTIFICATION message that reports e to the peer.
func (e *Error) Notification() *Notification {
	return &Notification{Code: e.Code, Subcode: e.Subcode, Data: e.Data}
}

// CodeClass is an error code as an error value: errors.Is(err, ErrUpdateMessage)
// holds for every *Error with code 3, whatever its subcode.
type CodeClass uint8

// Error implements error.
func (c CodeClass) Error() string { return "bgp " + codeName(uint8(c), 0xff) }

// Error classes: one per NOTIFICATION code.
var (
	ErrMessageHeader    error = CodeClass(CodeMessageHeader)
	ErrOpenMessage      error = CodeClass(CodeOpenMessage)
	ErrUpdateMessage    error = CodeClass(CodeUpdateMessage)
	ErrHoldTimerExpired error = CodeClass(CodeHoldTimerExpired)
	ErrFSM              error = CodeClass(CodeFSM)
	ErrCease            error = CodeClass(CodeCease)
	ErrRouteRefresh     error = CodeClass(CodeRouteRefresh)
)

// Sentinel errors, one per code/subcode pair; errors.Is matches any *Error
// with the same code and subcode. Do not modify them.
var (
	ErrConnectionNotSynchronized = &Error{Code: CodeMessageHeader, Subcode: SubcodeConnectionNotSynchronized}
	ErrBadMessageLength          = &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength}
	ErrBadMessageType            = &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageType}

	ErrOpenUnspecific               = &Error{Code: CodeOpenMessage, Subcode: SubcodeUnspecific}
	ErrUnsupportedVersionNumber     = &Error{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedVersionNumber}
	ErrBadPeerAS                    = &Error{Code: CodeOpenMessage, Subcode: SubcodeBadPeerAS}
	ErrBadBGPIdentifier             = &Error{Code: CodeOpenMessage, Subcode: SubcodeBadBGPIdentifier}
	ErrUnsupportedOptionalParameter = &Error{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedOptionalParameter}
	ErrUnacceptableHoldTime         = &Error{Code: CodeOpenMessage, Subcode: SubcodeUnacceptableHoldTime}
	ErrUnsupportedCapability        = &Error{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedCapability}
	ErrRoleMismatch                 = &Error{Code: CodeOpenMessage, Subcode: SubcodeRoleMismatch}

	ErrMalformedAttributeList         = &Error{Code: CodeUpdateMessage, Subcode: SubcodeMalformedAttributeList}
	ErrUnrecognizedWellKnownAttribute = &Error{Code: CodeUpdateMessage, Subcode: SubcodeUnrecognizedWellKnownAttribute}
	ErrMissingWellKnownAttribute      = &Error{Code: CodeUpdateMessage, Subcode: SubcodeMissingWellKnownAttribute}
	ErrAttributeFlags                 = &Error{Code: CodeUpdateMessage, Subcode: SubcodeAttributeFlagsError}
	ErrAttributeLength                = &Error{Code: CodeUpdateMessage, Subcode: SubcodeAttributeLengthError}
	ErrInvalidOrigin                  = &Error{Code: CodeUpdateMessage, Subcode: SubcodeInvalidOrigin}
	ErrInvalidNextHop                 = &Error{Code: CodeUpdateMessage, Subcode: SubcodeInvalidNextHop}
	ErrOptionalAttribute              = &Error{Code: CodeUpdateMessage, Subcode: SubcodeOptionalAttributeError}
	ErrInvalidNetworkField            = &Error{Code: CodeUpdateMessage, Subcode: SubcodeInvalidNetworkField}
	ErrMalformedASPath                = &Error{Code: CodeUpdateMessage, Subcode: SubcodeMalformedASPath}

	ErrHoldTimerExpiredError = &Error{Code: CodeHoldTimerExpired}

	ErrUnexpectedInOpenSent    = &Error{Code: CodeFSM, Subcode: SubcodeUnexpectedInOpenSent}
	ErrUnexpectedInOpenConfirm = &Error{Code: CodeFSM, Subcode: SubcodeUnexpectedInOpenConfirm}
	ErrUnexpectedInEstablished = &Error{Code: CodeFSM, Subcode: SubcodeUnexpectedInEstablished}

	ErrInvalidMessageLength = &Error{Code: CodeRouteRefresh, Subcode: SubcodeInvalidMessageLength}
)

// BadPeerAS returns the OPEN Message Error a session sends when the peer's
// AS is not the configured one. The data is the AS the peer announced, in 2
// octets when it fits (as the Bad Peer AS of seed 001 carries "22") and in 4
// octets otherwise, as FRR does.
func BadPeerAS(as uint32) *Error {
	var data []byte
	if as <= 0xffff {
		data = binary.BigEndian.AppendUint16(nil, uint16(as))
	} else {
		data = binary.BigEndian.AppendUint32(nil, as)
	}
	return &Error{Code: CodeOpenMessage, Subcode: SubcodeBadPeerAS, Data: data,
		Reason: fmt.Sprintf("peer announced AS %d", as)}
}

// UnacceptableHoldTime returns the OPEN Message Error for a hold time the
// local configuration refuses (RFC 4271 §6.2).
func UnacceptableHoldTime(hold uint16) *Error {
	return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnacceptableHoldTime,
		Reason: fmt.Sprintf("hold time %ds", hold)}
}

// UnsupportedCapability returns the OPEN Message Error a session sends when
// the peer lacks capabilities the local speaker requires; data holds the
// missing capabilities, encoded (RFC 5492 §5).
func UnsupportedCapability(caps ...Capability) *Error {
	var data []byte
	var names []string
	for _, c := range caps {
		data, _ = appendCapability(data, c)
		names = append(names, c.Code().String())
	}
	return &Error{Code: CodeOpenMessage, Subcode: SubcodeUnsupportedCapability, Data: data,
		Reason: "peer lacks " + strings.Join(names, ", ")}
}

var codeNames = map[uint8]string{
	CodeMessageHeader:    "Message Header Error",
	CodeOpenMessage:      "OPEN Message Error",
	CodeUpdateMessage:    "UPDATE Message Error",
	CodeHoldTimerExpired: "Hold Timer Expired",
	CodeFSM:              "Finite State Machine Error",
	CodeCease:            "Cease",
	CodeRouteRefresh:     "ROUTE-REFRESH Message Error",
}

var subcodeNames = map[uint8]map[uint8]string{
	CodeMessageHeader: {
		SubcodeConnectionNotSynchronized: "Connection Not Synchronized",
		SubcodeBadMessageLength:          "Bad Message Length",
		SubcodeBadMessageType:            "Bad Message Type",
	},
	CodeOpenMessage: {
		SubcodeUnsupportedVersionNumber:     "Unsupported Version Number",
		SubcodeBadPeerAS:                    "Bad Peer AS",
		SubcodeBadBGPIdentifier:             "Bad BGP Identifier",
		SubcodeUnsupportedOptionalParameter: "Unsupported Optional Parameter",
		5:                                   "Authentication Failure (deprecated)",
		SubcodeUnacceptableHoldTime:         "Unacceptable Hold Time",
		SubcodeUnsupportedCapability:        "Unsupported Capability",
		SubcodeRoleMismatch:                 "Role Mismatch",
	},
	CodeUpdateMessage: {
		SubcodeMalformedAttributeList:         "Malformed Attribute List",
		SubcodeUnrecognizedWellKnownAttribute: "Unrecognized Well-known Attribute",
		SubcodeMissingWellKnownAttribute:      "Missing Well-known Attribute",
		SubcodeAttributeFlagsError:            "Attribute Flags Error",
		SubcodeAttributeLengthError:           "Attribute Length Error",
		SubcodeInvalidOrigin:                  "Invalid ORIGIN Attribute",
		7:                                     "AS Routing Loop (deprecated)",
		SubcodeInvalidNextHop:                 "Invalid NEXT_HOP Attribute",
		SubcodeOptionalAttributeError:         "Optional Attribute Error",
		SubcodeInvalidNetworkField:            "Invalid Network Field",
		SubcodeMalformedASPath:                "Malformed AS_PATH",
	},
	CodeFSM: {
		SubcodeUnexpectedInOpenSent:    "Receive Unexpected Message in OpenSent State",
		SubcodeUnexpectedInOpenConfirm: "Receive Unexpected Message in OpenConfirm State",
		SubcodeUnexpectedInEstablished: "Receive Unexpected Message in Established State",
	},
	CodeCease: {
		SubcodeMaxPrefixes:         "Maximum Number of Prefixes Reached",
		SubcodeAdminShutdown:       "Administrative Shutdown",
		SubcodePeerDeconfigured:    "Peer De-configured",
		SubcodeAdminReset:          "Administrative Reset",
		SubcodeConnectionRejected:  "Connection Rejected",
		SubcodeOtherConfigChange:   "Other Configuration Change",
		SubcodeConnectionCollision: "Connection Collision Resolution",
		SubcodeOutOfResources:      "Out of Resources",
		SubcodeHardReset:           "Hard Reset",
		SubcodeBFDDown:             "BFD Down",
	},
	CodeRouteRefresh: {
		SubcodeInvalidMessageLength: "Invalid Message Length",
	},
}

// CodeName returns the name of a NOTIFICATION error code, e.g. "Cease".
func CodeName(code uint8) string {
	if n, ok := codeNames[code]; ok {
		return n
	}
	return fmt.Sprintf("Unknown Error %d", code)
}

// SubcodeName returns the name of a subcode of code, e.g. "Bad Peer AS",
// or "" for subcode 0 and for codes without subcodes.
func SubcodeName(code, subcode uint8) string {
	if subcode == SubcodeUnspecific {
		if code == CodeHoldTimerExpired {
			return ""
		}
		return "Unspecific"
	}
	if n, ok := subcodeNames[code][subcode]; ok {
		return n
	}
	return fmt.Sprintf("Unknown Subcode %d", subcode)
}

// codeName is "Code/Subcode" for messages: "OPEN Message Error/Bad Peer AS",
// "Hold Timer Expired"; subcode 0xff means code only.
func codeName(code, subcode uint8) string {
	c := CodeName(code)
	if subcode == 0xff || subcode == SubcodeUnspecific {
		return c
	}
	if s := SubcodeName(code, subcode); s != "" {
		return c + "/" + s
	}
	return c
}
