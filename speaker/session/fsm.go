package session

import (
	"errors"
	"io"
	"net"
	"slices"

	"lab/speaker/peer"
	"lab/speaker/wire"
)

// event is an FSM event, named as RFC 4271 section 8.1 names them; the
// last few are the lab's own (RFC 2918 route refresh, `clear bgp`, the
// next-hop tracker).
type event uint8

// FSM events.
const (
	ManualStart              event = iota + 1 // 8.1.2 Event 1: `neighbor ADDR enable`
	ManualStop                                // Event 2: `neighbor ADDR shutdown`
	AutomaticStart                            // Event 3: the speaker starts
	ConnectRetryTimerExpires                  // Event 9
	HoldTimerExpires                          // Event 10
	KeepaliveTimerExpires                     // Event 11
	IdleHoldTimerExpires                      // Event 13
	TcpCRAcked                                // Event 16: our connection is up
	TcpConnectionConfirmed                    // Event 17: the peer's connection is up
	TcpConnectionFails                        // Event 18
	BGPOpen                                   // Event 19
	BGPHeaderErr                              // Event 21
	BGPOpenMsgErr                             // Event 22
	NotifMsg                                  // Event 25
	KeepAliveMsg                              // Event 26
	UpdateMsg                                 // Event 27
	UpdateMsgErr                              // Event 28
	RouteRefreshMsg                           // RFC 2918: a ROUTE-REFRESH arrived
	ClearHard                                 // `clear bgp ADDR`: Cease/Administrative Reset, start again
	ClearSoft                                 // `clear bgp ADDR soft`: ROUTE-REFRESH out, everything advertised again
	PeerReachable                             // the peer's address became reachable: retry now
	Teardown                                  // the decision engine ends the session (maximum prefixes), which stays down until cleared
)

var eventNames = [...]string{
	ManualStart: "ManualStart", ManualStop: "ManualStop", AutomaticStart: "AutomaticStart",
	ConnectRetryTimerExpires: "ConnectRetryTimer_Expires", HoldTimerExpires: "HoldTimer_Expires",
	KeepaliveTimerExpires: "KeepaliveTimer_Expires", IdleHoldTimerExpires: "IdleHoldTimer_Expires",
	TcpCRAcked: "Tcp_CR_Acked", TcpConnectionConfirmed: "TcpConnectionConfirmed", TcpConnectionFails: "TcpConnectionFails",
	BGPOpen: "BGPOpen", BGPHeaderErr: "BGPHeaderErr", BGPOpenMsgErr: "BGPOpenMsgErr", NotifMsg: "NotifMsg",
	KeepAliveMsg: "KeepAliveMsg", UpdateMsg: "UpdateMsg", UpdateMsgErr: "UpdateMsgErr", RouteRefreshMsg: "RouteRefreshMsg",
	ClearHard: "ClearHard", ClearSoft: "ClearSoft", PeerReachable: "PeerReachable", Teardown: "Teardown",
}

func (e event) String() string {
	if int(e) < len(eventNames) && eventNames[e] != "" {
		return eventNames[e]
	}
	return "event?"
}

// dispatch turns what the session goroutine received into FSM events.
func (s *session) dispatch(in input) {
	switch in.kind {
	case inConn:
		if in.outbound {
			if in.dialID != s.dialID {
				in.nc.Close() // a dial we gave up on
				return
			}
			s.dialCancel = nil
			s.fsm(TcpCRAcked, nil, in)
			return
		}
		s.fsm(TcpConnectionConfirmed, nil, in)
	case inDialFail:
		if in.dialID == s.dialID {
			s.dialCancel = nil
			s.fsm(TcpConnectionFails, nil, in)
		}
	case inRead:
		in.c.unread.Add(-1)
		if !slices.Contains(s.conns, in.c) {
			in.upd.Release(s.e.in)
			in.upd.Done()
			return // a connection already dropped
		}
		s.observeReceived(in)
		ev := s.received(in)
		s.fsm(ev, in.c, in)
	case inShutdown:
		if in.on {
			s.fsm(ManualStop, nil, in)
		} else {
			s.fsm(ManualStart, nil, in)
		}
	case inHardReset:
		s.fsm(ClearHard, nil, in)
	case inSoftReset:
		s.fsm(ClearSoft, nil, in)
	case inKick:
		s.fsm(PeerReachable, nil, in)
	case inTeardown:
		s.fsm(Teardown, nil, in)
	case inReconfigure:
		s.reconfigure(*in.cfg, in.on)
	}
}

// received names the event of a connection's message or read error, and
// does what every state does with a message: count it, and restart the
// hold timer once the OPENs have set it.
func (s *session) received(in input) event {
	if in.msg == nil {
		var we *wire.Error
		if errors.As(in.err, &we) {
			switch we.Code {
			case wire.CodeMessageHeader:
				return BGPHeaderErr
			case wire.CodeOpenMessage:
				return BGPOpenMsgErr
			}
			return UpdateMsgErr
		}
		return TcpConnectionFails
	}
	now := s.e.clock.Now()
	t := in.msg.Type()
	s.stats.mu.Lock()
	if int(t) < len(s.stats.rcvd) {
		s.stats.rcvd[t]++
	}
	s.stats.lastRead = now
	s.stats.mu.Unlock()
	if t == wire.TypeUpdate {
		in.c.w.updatesRcvd.Add(1)
	}
	if c := in.c; c.hold > 0 {
		c.holdAt = now.Add(c.hold)
	}
	switch in.msg.(type) {
	case *wire.Open:
		return BGPOpen
	case *wire.Keepalive:
		return KeepAliveMsg
	case *wire.Notification:
		return NotifMsg
	case *wire.RouteRefresh:
		return RouteRefreshMsg
	}
	return UpdateMsg
}

// fsm is the session's finite state machine (RFC 4271 section 8.2.2): it
// switches on the state, then on the event. Events of a connection (c
// non-nil: its messages, its timers, its failure) are taken in the
// connection's state; the others in the session's, which is that of its
// most advanced connection while it has any. A session has two
// connections only while a collision is being decided (collision.go).
// An UPDATE that the FSM does not hand on (in.upd) is given back.
func (s *session) fsm(ev event, c *conn, in input) {
	st := s.state
	if c != nil {
		st = c.state
	}
	handedOn := false
	defer func() {
		if !handedOn {
			in.upd.Release(s.e.in)
			in.upd.Done()
		}
	}()
	switch st {
	case Idle:
		switch ev {
		case ManualStart:
			if s.adminDown {
				s.adminDown = false
				s.setAdminDown(false)
				s.start()
			}
		case AutomaticStart, IdleHoldTimerExpires:
			if !s.heldDown {
				s.start()
			}
		case ManualStop:
			s.manualStop(in.text)
		case ClearHard:
			s.clearHard()
		case TcpCRAcked, TcpConnectionConfirmed:
			// Taken unless the session is shut down or holds after an
			// error (connection refuses it then).
			s.connection(in.nc, in.outbound)
		}

	case Connect, Active:
		switch ev {
		case ConnectRetryTimerExpires:
			if !s.cfg.Passive {
				s.setState(Connect)
				s.dial()
			}
		case PeerReachable:
			// Active waits for its ConnectRetry timer: a peer that became
			// reachable is tried at once instead.
			if st == Active && !s.cfg.Passive {
				s.setState(Connect)
				s.dial()
			}
		case TcpCRAcked, TcpConnectionConfirmed:
			s.connection(in.nc, in.outbound)
		case TcpConnectionFails:
			// Connect: keep the ConnectRetry timer and wait in Active.
			if st == Connect {
				s.setState(Active)
			}
		case ManualStop:
			s.manualStop(in.text)
		case ClearHard:
			s.clearHard()
		}

	case OpenSent:
		switch ev {
		case BGPOpen:
			s.receiveOpen(c, in.msg.(*wire.Open))
		case KeepAliveMsg, UpdateMsg, RouteRefreshMsg:
			s.fsmError(c, wire.SubcodeUnexpectedInOpenSent)
		default:
			handedOn = s.inEveryConnectedState(ev, c, in)
		}

	case OpenConfirm:
		switch ev {
		case KeepAliveMsg:
			s.establish(c)
		case BGPOpen, UpdateMsg, RouteRefreshMsg:
			s.fsmError(c, wire.SubcodeUnexpectedInOpenConfirm)
		case KeepaliveTimerExpires:
			s.keepalive(c)
		default:
			handedOn = s.inEveryConnectedState(ev, c, in)
		}

	case Established:
		switch ev {
		case Teardown:
			s.heldDown = true
			s.setHeldDown(true)
			s.drop(s.upConn, in.notif, Reset{Kind: NotificationSent})
			s.toIdle(false)
		case KeepAliveMsg:
			// The hold timer restarted as the message was counted.
		case UpdateMsg:
			s.deliverUpdate(in.upd)
			handedOn = true
		case RouteRefreshMsg:
			m := in.msg.(*wire.RouteRefresh)
			f := wire.Family{AFI: m.AFI, SAFI: m.SAFI}
			// RFC 2918 section 4: a refresh for a family not negotiated is
			// ignored; so are the BoRR/EoRR markers of RFC 7313.
			if m.Subtype == wire.RefreshNormal && slices.Contains(c.families, f) {
				// FRR logs this only with `debug bgp updates`; a
				// lab's log says it always, so that a student (and a
				// `log:` check) sees the soft clear reach the peer.
				s.e.log.Printf("neighbor %s rcvd ROUTE-REFRESH (REQUEST) for %s", s.name, f)
				s.deliver(peer.Event{Kind: peer.RefreshRequest, Peer: s.id, Family: f})
			}
		case BGPOpen:
			s.fsmError(c, wire.SubcodeUnexpectedInEstablished)
		case KeepaliveTimerExpires:
			s.keepalive(c)
		case ClearSoft:
			up := s.upConn
			for _, f := range up.families {
				if up.peerSupports(wire.CapCodeRouteRefresh) || up.peerSupports(wire.CapCodeRouteRefreshCisco) {
					s.send(up, &wire.RouteRefresh{AFI: f.AFI, SAFI: f.SAFI})
				}
			}
			s.deliver(peer.Event{Kind: peer.Resend, Peer: s.id})
		default:
			handedOn = s.inEveryConnectedState(ev, c, in)
		}
	}
}

// inEveryConnectedState handles the events that OpenSent, OpenConfirm and
// Established handle alike: a NOTIFICATION or an error ends the
// connection, the hold timer too; a new connection is a collision to
// decide (or refuse); the administrator's stop and reset. It reports
// whether it handed the input's UPDATE on (never).
func (s *session) inEveryConnectedState(ev event, c *conn, in input) bool {
	switch ev {
	case NotifMsg:
		s.notified(c, in.msg.(*wire.Notification))
	case HoldTimerExpires:
		// RFC 4271 section 6.5: Hold Timer Expired, 4/0.
		s.drop(c, &wire.Notification{Code: wire.CodeHoldTimerExpired}, Reset{Kind: NotificationSent})
		s.afterDrop()
	case BGPHeaderErr, BGPOpenMsgErr, UpdateMsgErr:
		var we *wire.Error
		errors.As(in.err, &we)
		s.drop(c, we.Notification(), Reset{Kind: NotificationSent, Detail: we.Error()})
		s.afterDrop()
	case TcpConnectionFails:
		if c == nil {
			return false // a dial that failed while another connection goes on
		}
		why := Reset{Kind: ConnectionError, Detail: in.err.Error()}
		if errors.Is(in.err, io.EOF) || errors.Is(in.err, io.ErrUnexpectedEOF) || errors.Is(in.err, net.ErrClosed) {
			why = Reset{Kind: PeerClosed}
		}
		s.drop(c, nil, why)
		s.afterDrop()
	case TcpCRAcked, TcpConnectionConfirmed:
		s.connection(in.nc, in.outbound)
	case ManualStop:
		s.manualStop(in.text)
	case ClearHard:
		s.clearHard()
	}
	return false
}

// notified is NotifMsg: the peer ends the connection. A lost collision
// (Cease/Connection Collision Resolution) is not a failure to damp,
// unless it keeps happening.
func (s *session) notified(c *conn, n *wire.Notification) {
	s.e.log.Printf("%%NOTIFICATION: received from neighbor %s %d/%d (%s) %s", s.name, n.Code, n.Subcode, notifName(n), notifData(n))
	s.stats.mu.Lock()
	s.stats.lastNotif = LastNotification{Notification: n}
	s.stats.mu.Unlock()
	if n.Code == wire.CodeCease && n.Subcode == wire.SubcodeConnectionCollision {
		s.lostCollision(c, n)
		return
	}
	s.drop(c, nil, Reset{Kind: NotificationReceived, Notification: n})
	s.afterDrop()
}

// keepalive is KeepaliveTimerExpires: a KEEPALIVE, ahead of the UPDATEs
// queued (sendKeepalive), and the timer again.
func (s *session) keepalive(c *conn) {
	c.w.sendKeepalive(c.opts)
	c.kaAt = s.e.clock.Now().Add(c.keepalive)
}

// fsmError ends c with a Finite State Machine Error (RFC 6608 subcodes).
func (s *session) fsmError(c *conn, sub uint8) {
	s.drop(c, &wire.Notification{Code: wire.CodeFSM, Subcode: sub}, Reset{Kind: NotificationSent})
	s.afterDrop()
}

// manualStop is ManualStop in any state: Cease/Administrative Shutdown,
// with msg as its shutdown communication (RFC 8203) when not "", to every
// connection, and Idle until ManualStart.
func (s *session) manualStop(msg string) {
	if s.adminDown {
		return
	}
	s.adminDown = true
	s.setAdminDown(true)
	n := &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminShutdown}
	if msg != "" {
		n = wire.NewShutdown(wire.SubcodeAdminShutdown, msg)
	}
	s.stopAll(n, AdminShutdown)
	s.toIdle(false)
}

// clearHard is `clear bgp ADDR` in any state: Cease/Administrative Reset
// to every connection, and a new start at once (also after a teardown,
// which kept the session down until now).
func (s *session) clearHard() {
	if s.adminDown {
		return
	}
	if s.heldDown {
		s.heldDown = false
		s.setHeldDown(false)
	}
	s.stopAll(&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminReset}, AdminReset)
	s.toIdle(false)
	s.idleUntil = s.e.clock.Now() // start again at once
}

// reconfigure takes a new configuration; with reset, the session starts
// again at once (ClearHard, and no idle hold left from earlier failures).
func (s *session) reconfigure(cfg peer.Config, reset bool) {
	s.cfg = cfg
	s.ibgp = cfg.PeerAS == s.e.cfg.AS
	s.timers = peerTimers(s.e.cfg.Timers, &cfg)
	s.stats.mu.Lock()
	s.stats.timers = s.timers
	s.stats.mu.Unlock()
	if !reset {
		return
	}
	s.idleHold = s.e.cfg.IdleHold
	s.fsm(ClearHard, nil, input{})
}

func (s *session) setHeldDown(down bool) {
	s.stats.mu.Lock()
	s.stats.heldDown = down
	s.stats.mu.Unlock()
}

func (s *session) setAdminDown(down bool) {
	s.stats.mu.Lock()
	s.stats.adminDown = down
	s.stats.mu.Unlock()
}
