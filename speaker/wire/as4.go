package wire

// This file holds what a NEW (4-octet) speaker needs to talk to an OLD
// (2-octet) one, RFC 6793 §4.2.

// EffectiveASPath returns the 4-octet AS path of u. On a session with
// the 4-octet AS capability it is AS_PATH; from a 2-octet peer it is
// AS_PATH with AS4_PATH merged in as RFC 6793 §4.2.3 says (AS4_PATH is
// ignored when a 2-octet AGGREGATOR that is not AS_TRANS accompanies an
// AS4_AGGREGATOR). AS4_PATH from a 4-octet peer is ignored (RFC 6793 §4.1).
func (u *Update) EffectiveASPath(o *Options) (ASPath, bool) {
	p, ok := u.ASPath()
	if !ok || o.as4() {
		return p, ok
	}
	p4, ok4 := u.AS4Path()
	if !ok4 {
		return p, true
	}
	if agg, ok := u.Aggregator(); ok && agg.AS != ASTrans {
		if _, ok := u.AS4Aggregator(); ok {
			return p, true
		}
	}
	return MergeAS4Path(p, p4), true
}

// EffectiveAggregator returns the 4-octet aggregator of u: from a 2-octet
// peer whose AGGREGATOR is AS_TRANS, the AS4_AGGREGATOR's AS and address
// (RFC 6793 §4.2.3); else AGGREGATOR as is.
func (u *Update) EffectiveAggregator(o *Options) (Aggregator, bool) {
	agg, ok := u.Aggregator()
	if !ok || o.as4() || agg.AS != ASTrans {
		return agg, ok
	}
	if a4, ok := u.AS4Aggregator(); ok {
		return Aggregator{AS: a4.AS, Addr: a4.Addr}, true
	}
	return agg, true
}

// MergeAS4Path rebuilds the 4-octet path from the AS_PATH and AS4_PATH a
// 2-octet peer sent (RFC 6793 §4.2.3): when AS_PATH counts fewer ASes than
// AS4_PATH, AS4_PATH is ignored; otherwise the leading ASes of AS_PATH that
// AS4_PATH lacks (added by 2-octet speakers) are kept in front of AS4_PATH.
// Confederation segments in AS4_PATH are dropped (RFC 6793 §6). The result
// shares no memory with its inputs.
func MergeAS4Path(p ASPath, p4 AS4Path) ASPath {
	var tail []ASSegment
	for _, s := range p4.Segments {
		if s.Type == ASSequence || s.Type == ASSet {
			tail = append(tail, s)
		}
	}
	n, n4 := pathLen(p.Segments), pathLen(tail)
	if n < n4 {
		return ASPath{Segments: cloneSegments(p.Segments)}
	}
	k := n - n4
	var out []ASSegment
	for _, s := range p.Segments {
		switch s.Type {
		case ASConfedSequence, ASConfedSet:
			out = append(out, s)
			continue
		}
		if k == 0 {
			break
		}
		if s.Type == ASSet {
			out = append(out, s)
			k--
			continue
		}
		take := min(k, len(s.ASNs))
		out = append(out, ASSegment{Type: s.Type, ASNs: s.ASNs[:take]})
		k -= take
		if k == 0 {
			break
		}
	}
	// Join the kept leading sequence with AS4_PATH's first one.
	if len(out) > 0 && len(tail) > 0 {
		last, first := out[len(out)-1], tail[0]
		if last.Type == ASSequence && first.Type == ASSequence && len(last.ASNs)+len(first.ASNs) <= 255 {
			joined := append(append([]uint32(nil), last.ASNs...), first.ASNs...)
			out[len(out)-1] = ASSegment{Type: ASSequence, ASNs: joined}
			tail = tail[1:]
		}
	}
	return ASPath{Segments: cloneSegments(append(out, tail...))}
}

func cloneSegments(segs []ASSegment) []ASSegment {
	if segs == nil {
		return nil
	}
	out := make([]ASSegment, len(segs))
	for i, s := range segs {
		out[i] = ASSegment{Type: s.Type, ASNs: append([]uint32(nil), s.ASNs...)}
	}
	return out
}

// For2OctetPeer returns attrs as a NEW speaker sends them to an OLD peer
// (RFC 6793 §4.2.2): AS_PATH and AGGREGATOR stay (AppendTo writes AS_TRANS
// for the AS numbers that do not fit 2 octets), and an AS4_PATH (without
// confederation segments) and an AS4_AGGREGATOR follow them when they hold
// such AS numbers. AS4_PATH and AS4_AGGREGATOR already in attrs are
// replaced. attrs is not modified.
func For2OctetPeer(attrs []Attr) []Attr {
	out := make([]Attr, 0, len(attrs)+2)
	for _, a := range attrs {
		switch a := a.(type) {
		case AS4Path, AS4Aggregator:
			continue
		case ASPath:
			out = append(out, a)
			var segs []ASSegment
			wide := false
			for _, s := range a.Segments {
				if s.Type != ASSequence && s.Type != ASSet {
					continue
				}
				segs = append(segs, s)
				for _, as := range s.ASNs {
					if as > 0xffff {
						wide = true
					}
				}
			}
			if wide {
				out = append(out, AS4Path{Segments: cloneSegments(segs)})
			}
		case Aggregator:
			out = append(out, a)
			if a.AS > 0xffff {
				out = append(out, AS4Aggregator{AS: a.AS, Addr: a.Addr})
			}
		default:
			out = append(out, a)
		}
	}
	return out
}
