package policy

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// Well-known communities, the wire package's values (speaker/wire).
const (
	NoExport          = uint32(wire.CommunityNoExport)          // RFC 1997
	NoAdvertise       = uint32(wire.CommunityNoAdvertise)       // RFC 1997
	NoExportSubconfed = uint32(wire.CommunityNoExportSubconfed) // RFC 1997, FRR's local-AS
	NoPeer            = uint32(wire.CommunityNoPeer)            // RFC 3765
	GracefulShutdown  = uint32(wire.CommunityGracefulShutdown)  // RFC 8326
	Blackhole         = uint32(wire.CommunityBlackhole)         // RFC 7999
	AcceptOwn         = uint32(wire.CommunityAcceptOwn)         // RFC 7611
	LLGRStale         = uint32(wire.CommunityLLGRStale)         // RFC 9494
	NoLLGR            = uint32(wire.CommunityNoLLGR)            // RFC 9494
)

// wellKnown maps the names ParseCommunity accepts (lower case) to values:
// the RFC names and FRR's.
var wellKnown = map[string]uint32{
	"no-export":           NoExport,
	"no-advertise":        NoAdvertise,
	"no-export-subconfed": NoExportSubconfed,
	"local-as":            NoExportSubconfed,
	"no-peer":             NoPeer,
	"graceful-shutdown":   GracefulShutdown,
	"blackhole":           Blackhole,
	"accept-own":          AcceptOwn,
	"llgr-stale":          LLGRStale,
	"no-llgr":             NoLLGR,
}

// ParseCommunity parses a standard community written "AS:VALUE" (each
// 0..65535) or as a well-known name ("no-export", "local-AS", ...; any
// case).
func ParseCommunity(s string) (uint32, error) {
	if v, ok := wellKnown[strings.ToLower(s)]; ok {
		return v, nil
	}
	hi, lo, found := strings.Cut(s, ":")
	a, err1 := strconv.ParseUint(hi, 10, 16)
	b, err2 := strconv.ParseUint(lo, 10, 16)
	if !found || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad community %q: expected AS:VALUE (each 0..65535) or a well-known name (no-export, no-advertise, no-export-subconfed, no-peer, graceful-shutdown, blackhole, accept-own)", s)
	}
	return uint32(a)<<16 | uint32(b), nil
}

// CommunityString renders a standard community as FRR does: a well-known
// one by FRR's name ("no-export", "local-AS"), any other as "AS:VALUE".
func CommunityString(c uint32) string { return wire.Community(c).String() }

// ParseLargeCommunity parses a large community "GLOBAL:LOCAL1:LOCAL2"
// (each 0..4294967295).
func ParseLargeCommunity(s string) (rib.LargeCommunity, error) {
	var v [3]uint32
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return rib.LargeCommunity{}, fmt.Errorf("bad large community %q: expected GLOBAL:LOCAL1:LOCAL2 (each 0..4294967295)", s)
	}
	for i, p := range parts {
		x, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return rib.LargeCommunity{}, fmt.Errorf("bad large community %q: expected GLOBAL:LOCAL1:LOCAL2 (each 0..4294967295)", s)
		}
		v[i] = uint32(x)
	}
	return rib.LargeCommunity{Global: v[0], Local1: v[1], Local2: v[2]}, nil
}

// compareLarge orders large communities as FRR sorts them: by global
// administrator, then the two local parts.
func compareLarge(a, b rib.LargeCommunity) int {
	if c := cmp.Compare(a.Global, b.Global); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Local1, b.Local1); c != 0 {
		return c
	}
	return cmp.Compare(a.Local2, b.Local2)
}
