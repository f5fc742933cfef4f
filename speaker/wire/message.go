package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Type is the message type of the header (RFC 4271 §4.1).
type Type uint8

// Message types.
const (
	TypeOpen         Type = 1
	TypeUpdate       Type = 2
	TypeNotification Type = 3
	TypeKeepalive    Type = 4
	TypeRouteRefresh Type = 5 // RFC 2918
)

// String returns the message type name as RFC 4271 spells it: "OPEN", ...
func (t Type) String() string {
	switch t {
	case TypeOpen:
		return "OPEN"
	case TypeUpdate:
		return "UPDATE"
	case TypeNotification:
		return "NOTIFICATION"
	case TypeKeepalive:
		return "KEEPALIVE"
	case TypeRouteRefresh:
		return "ROUTE-REFRESH"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Message lengths (RFC 4271 §4.1, RFC 8654 §4).
const (
	HeaderLen             = 19
	MaxMessageLen         = 4096
	MaxExtendedMessageLen = 65535
)

// Minimum lengths per type, header included (RFC 4271 §4, RFC 2918 §3).
const (
	minOpenLen         = 29
	minUpdateLen       = 23
	minNotificationLen = 21
	keepaliveLen       = 19
	routeRefreshLen    = 23
)

// ASTrans is the 2-octet AS number that stands for a 4-octet one in the
// 2-octet fields of OPEN, AS_PATH and AGGREGATOR (RFC 6793 §9).
const ASTrans = 23456

// Options are the session's negotiated properties that change the encoding.
// A nil *Options means neither.
type Options struct {
	AS4             bool // both sides sent the 4-octet AS capability (RFC 6793)
	ExtendedMessage bool // both sides sent the extended message capability (RFC 8654)
}

func (o *Options) as4() bool { return o != nil && o.AS4 }

// MaxLen is the largest message the session may send or receive: 65535
// with extended messages, else 4096. OPEN and KEEPALIVE are always at most
// 4096 (RFC 8654 §3).
func (o *Options) MaxLen() int {
	if o != nil && o.ExtendedMessage {
		return MaxExtendedMessageLen
	}
	return MaxMessageLen
}

// Message is one BGP message.
type Message interface {
	Type() Type
	// AppendTo appends the whole message, header included, to b.
	AppendTo(b []byte, o *Options) ([]byte, error)
}

// Header is the fixed header that starts every message (RFC 4271 §4.1).
type Header struct {
	Length uint16
	Type   Type
}

// ParseHeader validates the first HeaderLen bytes of b as a message header
// for a session whose largest message is max (0 means 4096): the marker,
// the length against max and the type's own bounds, and the type (RFC 4271
// §6.1). It returns an *Error with the NOTIFICATION to send.
func ParseHeader(b []byte, max int) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Reason: fmt.Sprintf("%d bytes is shorter than the %d-byte header", len(b), HeaderLen)}
	}
	for _, c := range b[:16] {
		if c != 0xff {
			return Header{}, &Error{Code: CodeMessageHeader, Subcode: SubcodeConnectionNotSynchronized,
				Reason: fmt.Sprintf("marker is % x, not all ones", b[:16])}
		}
	}
	h := Header{Length: binary.BigEndian.Uint16(b[16:18]), Type: Type(b[18])}
	max = clampMax(max)
	badLen := func(why string) error {
		return &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data: append([]byte(nil), b[16:18]...), Reason: fmt.Sprintf("%s length %d %s", h.Type, h.Length, why)}
	}
	if h.Length < HeaderLen {
		return h, badLen(fmt.Sprintf("is shorter than the %d-byte header", HeaderLen))
	}
	if int(h.Length) > max {
		return h, badLen(fmt.Sprintf("exceeds the maximum %d", max))
	}
	switch h.Type {
	case TypeOpen:
		if h.Length < minOpenLen {
			return h, badLen(fmt.Sprintf("is below the minimum %d", minOpenLen))
		}
		if h.Length > MaxMessageLen {
			return h, badLen(fmt.Sprintf("exceeds %d, the limit for OPEN even with extended messages", MaxMessageLen))
		}
	case TypeUpdate:
		if h.Length < minUpdateLen {
			return h, badLen(fmt.Sprintf("is below the minimum %d", minUpdateLen))
		}
	case TypeNotification:
		if h.Length < minNotificationLen {
			return h, badLen(fmt.Sprintf("is below the minimum %d", minNotificationLen))
		}
	case TypeKeepalive:
		if h.Length != keepaliveLen {
			return h, badLen(fmt.Sprintf("is not %d", keepaliveLen))
		}
	case TypeRouteRefresh:
		if h.Length < routeRefreshLen {
			return h, badLen(fmt.Sprintf("is below the minimum %d", routeRefreshLen))
		}
	default:
		return h, &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageType,
			Data: []byte{b[18]}, Reason: fmt.Sprintf("unknown message type %d", b[18])}
	}
	return h, nil
}

func clampMax(max int) int {
	if max <= MaxMessageLen {
		return MaxMessageLen
	}
	if max > MaxExtendedMessageLen {
		return MaxExtendedMessageLen
	}
	return max
}

// ReadMessage reads one message from r into buf (grown as needed),
// validating the header (marker, length against max, type), and returns
// the whole message bytes, which alias buf. max is 4096 or 65535 (0 means
// 4096). A header error is an *Error; a read error is returned as is
// (io.EOF when r ends before the first byte, io.ErrUnexpectedEOF inside a
// message).
func ReadMessage(r io.Reader, buf []byte, max int) ([]byte, error) {
	if cap(buf) < HeaderLen {
		buf = make([]byte, HeaderLen, MaxMessageLen)
	}
	buf = buf[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	h, err := ParseHeader(buf, max)
	if err != nil {
		return nil, err
	}
	n := int(h.Length)
	if cap(buf) < n {
		nb := make([]byte, n)
		copy(nb, buf)
		buf = nb
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %s body of %d bytes: %w", h.Type, n-HeaderLen, err)
	}
	return buf, nil
}

// Parse decodes one whole message (header included). For an UPDATE with an
// RFC 7606 non-fatal error (ActionTreatAsWithdraw or ActionAttributeDiscard)
// it returns the decoded *Update AND an *Error whose Action says what to do;
// for every other error the Message is nil. Decoded messages do not alias b.
func Parse(b []byte, o *Options) (Message, error) {
	h, err := ParseHeader(b, o.MaxLen())
	if err != nil {
		return nil, err
	}
	if int(h.Length) != len(b) {
		return nil, &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data:   append([]byte(nil), b[16:18]...),
			Reason: fmt.Sprintf("header says %d bytes but the message has %d", h.Length, len(b))}
	}
	body := b[HeaderLen:]
	switch h.Type {
	case TypeOpen:
		m := new(Open)
		if err := m.Decode(body, o); err != nil {
			return nil, err
		}
		return m, nil
	case TypeUpdate:
		m := new(Update)
		if err := m.Decode(body, o); err != nil {
			var we *Error
			if errors.As(err, &we) && (we.Action == ActionTreatAsWithdraw || we.Action == ActionAttributeDiscard) {
				return m, err
			}
			return nil, err
		}
		return m, nil
	case TypeNotification:
		m := new(Notification)
		if err := m.Decode(body, o); err != nil {
			return nil, err
		}
		return m, nil
	case TypeKeepalive:
		m := new(Keepalive)
		if err := m.Decode(body, o); err != nil {
			return nil, err
		}
		return m, nil
	case TypeRouteRefresh:
		m := new(RouteRefresh)
		if err := m.Decode(body, o); err != nil {
			return nil, err
		}
		return m, nil
	}
	// ParseHeader rejected every other type.
	return nil, &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageType, Data: []byte{b[18]}}
}

// appendHeader appends a header with a zero length; finishMessage fills it.
func appendHeader(b []byte, t Type) []byte {
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0)
	return append(b, byte(t))
}

// finishMessage writes the length of the message that starts at b[start:]
// into its header, checking it against max.
func finishMessage(b []byte, start, max int) ([]byte, error) {
	n := len(b) - start
	if n > max {
		return b[:start], fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrTooLong, Type(b[start+18]), n, max)
	}
	binary.BigEndian.PutUint16(b[start+16:], uint16(n))
	return b, nil
}

// ErrTooLong is returned by AppendTo when a message does not fit the
// session's maximum message length; the caller splits it.
var ErrTooLong = errors.New("message too long")

// Keepalive is a KEEPALIVE message: the header alone (RFC 4271 §4.4).
type Keepalive struct{}

// Type returns TypeKeepalive.
func (*Keepalive) Type() Type { return TypeKeepalive }

// Decode checks that the body is empty.
func (*Keepalive) Decode(body []byte, _ *Options) error {
	if len(body) != 0 {
		return &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data:   binary.BigEndian.AppendUint16(nil, uint16(HeaderLen+len(body))),
			Reason: fmt.Sprintf("KEEPALIVE length %d is not %d", HeaderLen+len(body), HeaderLen)}
	}
	return nil
}

// AppendTo appends the 19-byte KEEPALIVE.
func (*Keepalive) AppendTo(b []byte, _ *Options) ([]byte, error) {
	start := len(b)
	b = appendHeader(b, TypeKeepalive)
	return finishMessage(b, start, MaxMessageLen)
}

// RouteRefresh is a ROUTE-REFRESH message (RFC 2918 §3) with the
// enhanced route refresh subtype (RFC 7313 §3).
type RouteRefresh struct {
	AFI AFI
	// Subtype is RefreshNormal, RefreshBoRR or RefreshEoRR; other values
	// are kept, and a speaker ignores the message (RFC 7313 §5).
	Subtype uint8
	SAFI    SAFI
	// ORF holds what follows the AFI/SAFI in a normal request: the
	// Outbound Route Filtering entries of RFC 5291, kept as raw bytes.
	ORF []byte `json:",omitempty"`
}

// ROUTE-REFRESH subtypes (RFC 7313 §3).
const (
	RefreshNormal uint8 = 0 // a route refresh request
	RefreshBoRR   uint8 = 1 // Beginning of Route Refresh
	RefreshEoRR   uint8 = 2 // End of Route Refresh
)

// Type returns TypeRouteRefresh.
func (*RouteRefresh) Type() Type { return TypeRouteRefresh }

// Decode decodes the body. A BoRR or EoRR longer than 4 bytes is a
// ROUTE-REFRESH Message Error/Invalid Message Length whose data is the
// whole message (RFC 7313 §5).
func (m *RouteRefresh) Decode(body []byte, _ *Options) error {
	if len(body) < 4 {
		return &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data:   binary.BigEndian.AppendUint16(nil, uint16(HeaderLen+len(body))),
			Reason: fmt.Sprintf("ROUTE-REFRESH length %d is below %d", HeaderLen+len(body), routeRefreshLen)}
	}
	*m = RouteRefresh{
		AFI:     AFI(binary.BigEndian.Uint16(body[0:2])),
		Subtype: body[2],
		SAFI:    SAFI(body[3]),
	}
	if len(body) > 4 {
		if m.Subtype == RefreshBoRR || m.Subtype == RefreshEoRR {
			msg := appendHeader(nil, TypeRouteRefresh)
			msg = append(msg, body...)
			binary.BigEndian.PutUint16(msg[16:], uint16(len(msg)))
			return &Error{Code: CodeRouteRefresh, Subcode: SubcodeInvalidMessageLength, Data: msg,
				Reason: fmt.Sprintf("ROUTE-REFRESH subtype %d length %d is not %d", m.Subtype, HeaderLen+len(body), routeRefreshLen)}
		}
		m.ORF = append([]byte(nil), body[4:]...)
	}
	return nil
}

// AppendTo appends the message.
func (m *RouteRefresh) AppendTo(b []byte, o *Options) ([]byte, error) {
	start := len(b)
	b = appendHeader(b, TypeRouteRefresh)
	b = binary.BigEndian.AppendUint16(b, uint16(m.AFI))
	b = append(b, m.Subtype, byte(m.SAFI))
	b = append(b, m.ORF...)
	return finishMessage(b, start, o.MaxLen())
}
