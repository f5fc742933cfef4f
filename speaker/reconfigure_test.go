package speaker

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/speaker/wire"
)

// Reconfigure: a changed local-pref runs b's routes again through the
// import side, without a new session; a changed remote-as resets exactly
// c's session (Cease/Administrative Reset); a new originated prefix is
// announced; a new neighbour is refused.
func TestReconfigure(t *testing.T) {
	l := newPolicyLab(t, nil)
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	announce(l.b, addrB, pfx, []uint32{2})
	nextAdvertised(t, l.c)
	nextAdvertised(t, l.d)

	cfg := l.h.sp.Config()
	lp := uint32(300)
	cfg.Peers[0].LocalPref = &lp
	rc, err := l.h.sp.Reconfigure(l.h.ctx(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []PeerChange{{Peer: addrB, What: []string{"local-pref"}}}; !cmp.Equal(want, rc.Peers, addrCmp) {
		t.Errorf("changes %+v, want %+v", rc.Peers, want)
	}
	// d (iBGP) hears the new local-pref.
	u := expect[*wire.Update](l.d)
	var got uint32
	for _, a := range u.Attrs {
		if x, ok := a.(wire.LocalPref); ok {
			got = x.Value
		}
	}
	if got != 300 {
		t.Errorf("d got local-pref %d, want 300", got)
	}
	if n, _ := l.h.sp.Neighbor(l.h.ctx(), addrB); n.State != Established || n.ConnectionsEstablished != 1 {
		t.Errorf("b: %v after %d sessions, want the first still Established", n.State, n.ConnectionsEstablished)
	}

	cfg = l.h.sp.Config()
	cfg.Peers[1].PeerAS = 4
	cfg.Originate = append(cfg.Originate, Origination{Prefix: netip.MustParsePrefix("2001:db8:99::/48")})
	rc, err = l.h.sp.Reconfigure(l.h.ctx(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Peers) != 1 || rc.Peers[0].Peer != addrC || !rc.Peers[0].Reset || !slices.Equal(rc.Peers[0].What, []string{"remote-as"}) {
		t.Errorf("changes %+v, want c reset for its remote-as", rc.Peers)
	}
	if !slices.Equal(rc.Router, []string{"announce 2001:db8:99::/48"}) {
		t.Errorf("router changes %v", rc.Router)
	}
	l.c.expectNotification(wire.CodeCease, wire.SubcodeAdminReset)
	if got := nextAdvertised(t, l.d); !slices.Equal(got, []string{"2001:db8:99::/48"}) {
		t.Errorf("d got %v, want the new prefix", got)
	}

	cfg = l.h.sp.Config()
	cfg.Peers = append(cfg.Peers, PeerConfig{PeerAddr: netip.MustParseAddr("2001:99::9"), PeerAS: 9})
	if _, err := l.h.sp.Reconfigure(l.h.ctx(), cfg); err == nil {
		t.Error("a new neighbour was taken")
	}
}
