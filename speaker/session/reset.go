package session

import "lab/speaker/wire"

// ResetKind says why a session (or one of its connections) went down.
type ResetKind uint8

// Reset kinds.
const (
	// ResetNone: the session never went down.
	ResetNone ResetKind = iota
	// NotificationSent: we sent a NOTIFICATION (an error we found, our
	// hold timer).
	NotificationSent
	// NotificationReceived: the peer sent one.
	NotificationReceived
	// PeerClosed: the peer closed the TCP connection without a word.
	PeerClosed
	// ConnectionError: the TCP connection failed.
	ConnectionError
	// Collision: a connection lost a collision (RFC 4271 section 6.8),
	// decided here (Cease/Connection Collision Resolution sent) or by the
	// peer (received).
	Collision
	// AdminShutdown: shut down by the administrator, or the speaker
	// stopped (Cease/Administrative Shutdown sent).
	AdminShutdown
	// AdminReset: `clear bgp ADDR` (Cease/Administrative Reset sent).
	AdminReset
)

// resetText is FRR's wording of each kind, as `show bgp neighbors` prints
// it after "Last reset".
var resetText = [...]string{
	ResetNone:            "never",
	NotificationSent:     "BGP Notification send",
	NotificationReceived: "BGP Notification received",
	PeerClosed:           "Peer closed the session",
	ConnectionError:      "TCP connection error",
	Collision:            "Connection collision",
	AdminShutdown:        "Admin. shutdown",
	AdminReset:           "Admin. reset",
}

// String returns FRR's wording.
func (k ResetKind) String() string {
	if int(k) < len(resetText) {
		return resetText[k]
	}
	return "unknown"
}

// Reset is why a session went down: typed, so that code decides on the
// kind and only the show code renders it.
type Reset struct {
	Kind ResetKind
	// Notification is the NOTIFICATION sent or received, if any.
	Notification *wire.Notification
	// Detail says more: the error found in a message, the TCP error.
	Detail string
}

// String renders the reason as FRR's "Last reset" does: "BGP Notification
// send (Hold Timer Expired (4/0))".
func (r Reset) String() string {
	s := r.Kind.String()
	switch {
	case r.Detail != "":
		s += " (" + r.Detail + ")"
	case r.Notification != nil:
		s += " (" + r.Notification.String() + ")"
	}
	return s
}

// LastNotification is the last NOTIFICATION of a session.
type LastNotification struct {
	Sent         bool
	Notification *wire.Notification
}

// String renders it as "sent Hold Timer Expired (4/0)".
func (n LastNotification) String() string {
	if n.Notification == nil {
		return ""
	}
	if n.Sent {
		return "sent " + n.Notification.String()
	}
	return "received " + n.Notification.String()
}
