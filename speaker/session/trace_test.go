package session

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lab/speaker/wire"
)

var addrCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// The trace keeps messages encoded and decodes them when read: what
// comes out is what went in, the last n of them, oldest first, decoded
// with the options each was encoded with.
func TestTraceRing(t *testing.T) {
	as4 := wire.Options{AS4: true}
	t0 := time.Date(2017, 12, 15, 14, 14, 40, 0, time.UTC)
	upd := func(as uint32) *wire.Update {
		return &wire.Update{Attrs: []wire.Attr{
			wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{as, 4200000001}}}},
			wire.NextHop{Addr: netip.MustParseAddr("10.0.0.1")},
		}, NLRI: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}}
	}
	msgs := []struct {
		m    wire.Message
		dir  Direction
		opts wire.Options
	}{
		{wire.NewOpen(2, 180, netip.MustParseAddr("0.0.0.3"), wire.CapMultiprotocol(wire.IPv6Unicast), wire.CapAS4{AS: 2}), Sent, wire.Options{}},
		{&wire.Keepalive{}, Received, wire.Options{}},
		{upd(65001), Sent, as4},
		{upd(4200000002), Received, as4},
		{&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminShutdown}, Sent, as4},
	}
	tr := newTrace(3, "2001:12::b")
	// What a trace reader sees: the message as decoded from the wire
	// (with the attribute flags it had there).
	decoded := make([]wire.Message, len(msgs))
	for i, x := range msgs {
		b, err := x.m.AppendTo(nil, &x.opts)
		if err != nil {
			t.Fatal(err)
		}
		if decoded[i], err = wire.Parse(b, &x.opts); err != nil {
			t.Fatal(err)
		}
		tr.add(x.dir, t0.Add(time.Duration(i)*time.Second), b, x.opts, nil)
		var want []TraceEntry
		for j := max(0, i-2); j <= i; j++ {
			want = append(want, TraceEntry{Time: t0.Add(time.Duration(j) * time.Second), Peer: "2001:12::b", Dir: msgs[j].dir,
				Type: msgs[j].m.Type().String(), Msg: decoded[j]})
		}
		if diff := cmp.Diff(want, tr.entries(), addrCmp); diff != "" {
			t.Fatalf("after %d messages (-want +got):\n%s", i+1, diff)
		}
	}

	// A follower gets every new message decoded, or as the caller had it.
	c, stop := tr.follow()
	defer stop()
	k := &wire.Keepalive{}
	tr.add(Received, t0, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 19, 4}, wire.Options{}, k)
	if e := <-c; e.Msg != k || e.Type != "KEEPALIVE" {
		t.Errorf("follower got %+v, want the caller's KEEPALIVE", e)
	}
	b, _ := upd(3).AppendTo(nil, &as4)
	u, _ := wire.Parse(b, &as4)
	tr.add(Sent, t0, b, as4, nil)
	if e := <-c; !cmp.Equal(e.Msg, u, addrCmp) || e.Dir != Sent {
		t.Errorf("follower got %+v, want %v", e, u)
	}
	// Stopping closes the channel, so a follower's range over it ends;
	// messages after that are not sent to it.
	stop()
	tr.add(Received, t0, b, as4, nil)
	if e, ok := <-c; ok {
		t.Errorf("after stop, the follower got %+v; want its channel closed", e)
	}
	stop() // twice is harmless
}

// The trace's byte ring keeps the last messages, in order and intact,
// whatever their sizes: as many as max, and as the ring's bytes hold;
// large ones apart. Its memory stays within max*traceBytesPerMsg bytes
// plus the large messages.
func TestTraceByteRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, max := range []int{1, 3, 41, 256} {
		tr := newTrace(max, "p")
		var added [][]byte
		for i := range 3000 {
			size := 19 + rng.IntN(120)
			switch rng.IntN(50) {
			case 0:
				size = 4096 // larger than a quarter of most rings
			case 1:
				size = max * traceBytesPerMsg / 4 // just fits the ring
			}
			msg := make([]byte, size)
			for j := range msg {
				msg[j] = byte(i + j)
			}
			added = append(added, msg)
			tr.add(Sent, time.Unix(0, int64(i)), msg, wire.Options{}, nil)

			tr.mu.Lock()
			if tr.n > max || tr.n == 0 || len(tr.buf) > max*traceBytesPerMsg || tr.used > len(tr.buf) {
				t.Fatalf("max %d, after %d messages: %d records, ring of %d bytes (%d used)", max, i+1, tr.n, len(tr.buf), tr.used)
			}
			for k := range tr.n {
				r := tr.recs[(tr.first+k)%len(tr.recs)]
				want := added[len(added)-tr.n+k]
				if !bytes.Equal(tr.raw(r), want) || r.at != int64(len(added)-tr.n+k) {
					t.Fatalf("max %d, after %d messages: record %d of %d is not message %d", max, i+1, k, tr.n, len(added)-tr.n+k)
				}
			}
			tr.mu.Unlock()
		}
		if got := len(tr.entries()); got < min(max, 10) {
			t.Errorf("max %d: %d entries kept", max, got)
		}
	}
}
