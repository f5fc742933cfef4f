package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Notification is a NOTIFICATION message (RFC 4271 §4.5).
type Notification struct {
	Code    uint8
	Subcode uint8
	Data    []byte `json:",omitempty"`
}

// MaxShutdownMessageLen is the longest shutdown communication (RFC 9003 §2).
const MaxShutdownMessageLen = 255

// NewShutdown returns a Cease NOTIFICATION with subcode
// SubcodeAdminShutdown or SubcodeAdminReset that carries msg as its
// shutdown communication (RFC 9003 §2), truncated to 255 bytes on a rune
// boundary.
func NewShutdown(subcode uint8, msg string) *Notification {
	for len(msg) > MaxShutdownMessageLen {
		_, size := utf8.DecodeLastRuneInString(msg)
		msg = msg[:len(msg)-size]
	}
	var data []byte
	if msg != "" {
		data = append([]byte{byte(len(msg))}, msg...)
	}
	return &Notification{Code: CodeCease, Subcode: subcode, Data: data}
}

// Type returns TypeNotification.
func (*Notification) Type() Type { return TypeNotification }

// Decode decodes a NOTIFICATION body. Any code, subcode and data are
// accepted: a NOTIFICATION is never answered (RFC 4271 §6.4).
func (m *Notification) Decode(body []byte, _ *Options) error {
	if len(body) < 2 {
		return &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data:   binary.BigEndian.AppendUint16(nil, uint16(HeaderLen+len(body))),
			Reason: fmt.Sprintf("NOTIFICATION length %d is below %d", HeaderLen+len(body), minNotificationLen)}
	}
	*m = Notification{Code: body[0], Subcode: body[1]}
	if len(body) > 2 {
		m.Data = append([]byte(nil), body[2:]...)
	}
	return nil
}

// AppendTo appends the message.
func (m *Notification) AppendTo(b []byte, o *Options) ([]byte, error) {
	start := len(b)
	b = appendHeader(b, TypeNotification)
	b = append(b, m.Code, m.Subcode)
	b = append(b, m.Data...)
	return finishMessage(b, start, o.MaxLen())
}

// Err returns the notification as an *Error, so that a session that
// receives one can match it with errors.Is like the errors it sends.
func (m *Notification) Err() *Error {
	return &Error{Code: m.Code, Subcode: m.Subcode, Data: m.Data, Reason: "received " + m.String()}
}

// ShutdownMessage returns the shutdown communication of a Cease
// Administrative Shutdown or Reset (RFC 9003 §2), if the data holds a
// well-formed one.
func (m *Notification) ShutdownMessage() (string, bool) {
	if m.Code != CodeCease || (m.Subcode != SubcodeAdminShutdown && m.Subcode != SubcodeAdminReset) {
		return "", false
	}
	if len(m.Data) == 0 || int(m.Data[0]) != len(m.Data)-1 {
		return "", false
	}
	s := string(m.Data[1:])
	if !utf8.ValidString(s) {
		return "", false
	}
	return s, true
}

// String is readable text: "Hold Timer Expired (4/0)",
// "Cease/Administrative Shutdown (6/2): \"maintenance\"",
// "OPEN Message Error/Bad Peer AS (2/2): peer AS 22".
func (m *Notification) String() string {
	s := fmt.Sprintf("%s (%d/%d)", codeName(m.Code, m.Subcode), m.Code, m.Subcode)
	if d := m.dataText(); d != "" {
		s += ": " + d
	}
	return s
}

// dataText explains the data of the codes that define it, else shows it
// in hex.
func (m *Notification) dataText() string {
	d := m.Data
	if len(d) == 0 {
		return ""
	}
	if msg, ok := m.ShutdownMessage(); ok {
		return strconv.Quote(msg)
	}
	switch {
	case m.Code == CodeOpenMessage && m.Subcode == SubcodeBadPeerAS && (len(d) == 2 || len(d) == 4):
		if len(d) == 2 {
			return fmt.Sprintf("peer AS %d", binary.BigEndian.Uint16(d))
		}
		return fmt.Sprintf("peer AS %d", binary.BigEndian.Uint32(d))
	case m.Code == CodeOpenMessage && m.Subcode == SubcodeUnsupportedVersionNumber && len(d) == 2:
		return fmt.Sprintf("supported version %d", binary.BigEndian.Uint16(d))
	case m.Code == CodeMessageHeader && m.Subcode == SubcodeBadMessageLength && len(d) == 2:
		return fmt.Sprintf("length %d", binary.BigEndian.Uint16(d))
	case m.Code == CodeMessageHeader && m.Subcode == SubcodeBadMessageType && len(d) == 1:
		return fmt.Sprintf("type %d", d[0])
	case m.Code == CodeUpdateMessage && m.Subcode == SubcodeMissingWellKnownAttribute && len(d) == 1:
		return fmt.Sprintf("missing %s (%d)", AttrCode(d[0]), d[0])
	case m.Code == CodeCease && m.Subcode == SubcodeMaxPrefixes && len(d) == 7:
		// RFC 4486 §4: AFI, SAFI and the upper bound.
		return fmt.Sprintf("%s, limit %d", Family{AFI(binary.BigEndian.Uint16(d)), SAFI(d[2])},
			binary.BigEndian.Uint32(d[3:]))
	case m.Code == CodeOpenMessage && m.Subcode == SubcodeUnsupportedCapability:
		var names []string
		for i := 0; i+2 <= len(d); i += 2 + int(d[i+1]) {
			names = append(names, CapabilityCode(d[i]).String())
		}
		return "capabilities " + strings.Join(names, ", ")
	}
	return "data " + hexString(d)
}

func hexString(d []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for i, c := range d {
		if i > 0 && i%2 == 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&0xf])
	}
	return sb.String()
}
