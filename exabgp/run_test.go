package exabgp

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lab/speaker"
	"lab/speaker/wire"
)

// runLines parses and runs line on l's speaker and returns what it
// printed.
func runLines(t *testing.T, l *apiLab, line string) ([]string, error) {
	t.Helper()
	c, err := ParseCommand(line)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	var out []string
	err = c.Run(context.Background(), l.sp, func(s string) { out = append(out, s) })
	return out, err
}

// The show commands print ExaBGP's layouts from the speaker's state; the
// commands that need a session say so when there is none.
func TestRunShow(t *testing.T) {
	l := newAPILab(t, nil, nil)
	if _, err := runLines(t, l, "announce eor"); err == nil || !strings.Contains(err.Error(), "no Established session") {
		t.Errorf("End-of-RIB without a session: %v", err)
	}
	if _, err := runLines(t, l, "neighbor 10.0.0.2 announce route 2001:db8::/32 next-hop self"); err == nil ||
		!strings.Contains(err.Error(), "no selected neighbor carries ipv6 unicast") {
		t.Errorf("an IPv6 route for an IPv4 session: %v", err)
	}
	l.establish()
	ctx := context.Background()
	poll(t, 5*time.Second, "Established", func() (bool, string) {
		n, err := l.sp.Neighbor(ctx, peerAddr)
		return err == nil && n.State == speaker.Established, ""
	})
	if _, err := runLines(t, l, "announce route 10.1.0.0/16 next-hop self med 5 community 65001:7"); err != nil {
		t.Fatal(err)
	}
	l.p.nextUpdate()
	out, err := runLines(t, l, "show adj-rib out")
	if err != nil {
		t.Fatal(err)
	}
	if want := "neighbor 10.0.0.2 ipv4 unicast 10.1.0.0/16 next-hop 10.0.0.1"; strings.Join(out, "\n") != want {
		t.Errorf("show adj-rib out:\n%s\nwant\n%s", strings.Join(out, "\n"), want)
	}
	out, _ = runLines(t, l, "show adj-rib out extensive")
	if want := "neighbor 10.0.0.2 local-ip 10.0.0.1 local-as 65001 peer-as 65002 router-id 10.255.0.1 ipv4 unicast 10.1.0.0/16 next-hop 10.0.0.1 origin igp as-path [ 65001 ] med 5 community [ 65001:7 ]"; strings.Join(out, "\n") != want {
		t.Errorf("show adj-rib out extensive:\n%s\nwant\n%s", strings.Join(out, "\n"), want)
	}
	l.p.send(&wire.Update{NLRI: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Attrs: []wire.Attr{
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{65002}}}},
		wire.NextHop{Addr: peerAddr}}})
	poll(t, 5*time.Second, "the route in the Adj-RIB-In", func() (bool, string) {
		out, _ := runLines(t, l, "show adj-rib in 10.0.0.2")
		return strings.Join(out, "\n") == "neighbor 10.0.0.2 ipv4 unicast 10.0.0.0/8 next-hop 10.0.0.2", strings.Join(out, "\n")
	})
	out, _ = runLines(t, l, "show neighbor summary")
	if len(out) != 2 || !strings.HasPrefix(out[0], "Peer            AS        up/down state       |     #sent     #recvd") ||
		!strings.HasPrefix(out[1], "10.0.0.2        65002     ") || !strings.Contains(out[1], " established ") {
		t.Errorf("show neighbor summary:\n%s", strings.Join(out, "\n"))
	}
	out, _ = runLines(t, l, "show neighbor 10.0.0.2 extensive")
	text := strings.Join(out, "\n")
	for _, want := range []string{
		"Neighbor 10.0.0.2",
		"   state                    ESTABLISHED",
		"   AS                             65001           65002",
		"   ID                        10.255.0.1      10.255.0.2",
		"   route-refresh:               enabled         enabled",
		"   ipv4 unicast:                enabled         enabled        disabled",
		"   update:                            ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("show neighbor extensive: no %q in\n%s", want, text)
		}
	}
	if _, err := runLines(t, l, "show neighbor 10.9.9.9 summary"); err == nil {
		t.Error("show of an unknown neighbour: no error")
	}
	// Shutdown: every session administratively down.
	if out, err := runLines(t, l, "shutdown"); err != nil || strings.Join(out, "") != "shutdown in progress" {
		t.Errorf("shutdown: %q, %v", out, err)
	}
	poll(t, 5*time.Second, "the session down", func() (bool, string) {
		n, err := l.sp.Neighbor(ctx, peerAddr)
		return err == nil && n.AdminDown && n.State == speaker.Idle, ""
	})
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Second:                  "0:00:15",
		(3*3600 + 4*60 + 5) * time.Second: "3:04:05",
		(86400 + 1) * time.Second:         "1 day, 0:00:01",
		(2*86400 + 3600) * time.Second:    "2 days, 1:00:00",
	} {
		if got := duration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
