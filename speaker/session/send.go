package session

import (
	"errors"
	"fmt"
	"slices"

	"lab/speaker/peer"
	"lab/speaker/wire"
)

// ErrNotEstablished is returned by the commands that need an Established
// session.
var ErrNotEstablished = errors.New("session not established")

// established returns the writer of the peer's Established session and
// what it negotiated.
func (e *Engine) established(id peer.ID) (*writer, wire.Options, []wire.Family, *wire.Open, error) {
	if int(id) < 0 || int(id) >= len(e.sessions) {
		return nil, wire.Options{}, nil, nil, fmt.Errorf("no peer %d", id)
	}
	st := &e.sessions[id].stats
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.state != Established || st.writer == nil {
		return nil, wire.Options{}, nil, nil, ErrNotEstablished
	}
	return st.writer, wire.Negotiate(st.localOpen, st.peerOpen), st.families, st.peerOpen, nil
}

// SendEndOfRIB sends an End-of-RIB marker of family f (RFC 4724 section
// 2) on the peer's Established session, as ExaBGP's `announce eor` does.
// It goes after the UPDATEs queued so far on the connection; a caller
// that wants it after the routes it announced waits for the decision
// engine's round first.
func (e *Engine) SendEndOfRIB(id peer.ID, f wire.Family) error {
	w, opts, fams, _, err := e.established(id)
	if err != nil {
		return err
	}
	if !slices.Contains(fams, f) {
		return fmt.Errorf("family %v was not negotiated", f)
	}
	b, err := wire.NewEndOfRIB(f.AFI, f.SAFI).AppendTo(nil, &opts)
	if err != nil {
		return err
	}
	if !w.queue(b, opts) {
		return ErrNotEstablished
	}
	w.flush()
	return nil
}

// SendRouteRefresh asks the peer to send its routes of family f again
// (RFC 2918), as ExaBGP's `announce route-refresh` does: only over a
// session whose peer announced the capability.
func (e *Engine) SendRouteRefresh(id peer.ID, f wire.Family) error {
	w, opts, fams, po, err := e.established(id)
	if err != nil {
		return err
	}
	if !slices.Contains(fams, f) {
		return fmt.Errorf("family %v was not negotiated", f)
	}
	_, rfc := po.Capability(wire.CapCodeRouteRefresh)
	_, cisco := po.Capability(wire.CapCodeRouteRefreshCisco)
	if !rfc && !cisco {
		return errors.New("the peer does not support route refresh")
	}
	b, err := (&wire.RouteRefresh{AFI: f.AFI, SAFI: f.SAFI}).AppendTo(nil, &opts)
	if err != nil {
		return err
	}
	if !w.queue(b, opts) {
		return ErrNotEstablished
	}
	w.flush()
	return nil
}

// TeardownRestart ends the peer's Established session with NOTIFICATION
// n and starts it again at once, as ExaBGP's `teardown` does (its Cease
// subcode is the command's). It waits until the session goroutine took
// both steps in.
func (e *Engine) TeardownRestart(id peer.ID, n *wire.Notification) error {
	if _, _, _, _, err := e.established(id); err != nil {
		return err
	}
	// Teardown drops the session and holds it down; the hard reset that
	// follows in the same queue lifts the hold and starts again.
	if err := e.send(id, input{kind: inTeardown, notif: n}); err != nil {
		return err
	}
	return e.send(id, input{kind: inHardReset})
}
