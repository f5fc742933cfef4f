package ribwire

import (
	"lab/speaker/rib"
	"lab/speaker/wire"
)

// ASPathString renders an AS_PATH as FRR does ("3 2 {7,8}"), segment by
// segment as wire.AppendSegment renders them: rib's segment types are the
// wire's numbers (TestPathString).
func ASPathString(segs []rib.Segment) string {
	var b []byte
	for i, s := range segs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = wire.AppendSegment(b, wire.SegmentType(s.Type), s.ASNs)
	}
	return string(b)
}

// CommunityString renders an RFC 1997 community as FRR does: a well-known
// community by its name ("no-export"), any other as "AS:value".
func CommunityString(c uint32) string { return wire.Community(c).String() }
