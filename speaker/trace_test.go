package speaker

import (
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

// Through a session: the trace shows the OPENs and KEEPALIVEs of the
// exchange and the first UPDATE, decoded.
func TestTraceSession(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	local := h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	first := expect[*wire.Update](p)
	expect[*wire.Update](p) // End-of-RIB
	var got []TraceEntry
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 6 && time.Now().Before(deadline) {
		tr, err := h.sp.Trace(addrB)
		if err != nil {
			t.Fatal(err)
		}
		got = tr
		if len(got) < 6 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// A sent message is traced once written, a received one once read:
	// each direction is in order, the two may interleave either way.
	kinds := map[Direction][]string{}
	msgs := map[Direction][]wire.Message{}
	for _, e := range got {
		kinds[e.Dir] = append(kinds[e.Dir], e.Type)
		msgs[e.Dir] = append(msgs[e.Dir], e.Msg)
	}
	want := map[Direction][]string{
		Sent:     {"OPEN", "KEEPALIVE", "UPDATE", "UPDATE"},
		Received: {"OPEN", "KEEPALIVE"},
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Fatalf("trace (-want +got):\n%s", diff)
	}
	// local and first were decoded by the test's peer from the wire.
	if diff := cmp.Diff(wire.Message(local), msgs[Sent][0], addrCmp); diff != "" {
		t.Errorf("traced OPEN (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wire.Message(first), msgs[Sent][2], addrCmp); diff != "" {
		t.Errorf("traced UPDATE (-want +got):\n%s", diff)
	}
}
