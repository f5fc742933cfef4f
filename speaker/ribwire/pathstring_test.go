package ribwire

import (
	"testing"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// The show commands render an AS_PATH as FRR does, through the wire's
// segment renderer: rib's segment types must be the wire's numbers.
func TestPathString(t *testing.T) {
	for _, c := range []struct {
		rib  uint8
		wire wire.SegmentType
	}{{rib.SegSet, wire.ASSet}, {rib.SegSequence, wire.ASSequence}, {rib.SegConfedSequence, wire.ASConfedSequence}, {rib.SegConfedSet, wire.ASConfedSet}} {
		if wire.SegmentType(c.rib) != c.wire {
			t.Errorf("rib segment type %d is not wire's %v", c.rib, c.wire)
		}
	}
	segs := []rib.Segment{{Type: rib.SegConfedSequence, ASNs: []uint32{65001}}, {Type: rib.SegSequence, ASNs: []uint32{3, 2}},
		{Type: rib.SegSet, ASNs: []uint32{7, 8}}, {Type: rib.SegConfedSet, ASNs: []uint32{65003, 65004}}}
	if got, want := ASPathString(segs), "(65001) 3 2 {7,8} [65003,65004]"; got != want {
		t.Errorf("ASPathString = %q, want %q", got, want)
	}
	if got := ASPathString(nil); got != "" {
		t.Errorf("empty path: %q", got)
	}
}
