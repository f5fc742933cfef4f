package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// writePcap writes msgs as a classic libpcap file: one Ethernet/IPv4/TCP
// frame per message, from port 40000 to 179, with consecutive sequence
// numbers so that the TCP stream is whole. The addresses are documentation
// ones; nothing is sent anywhere.
func writePcap(path string, msgs [][]byte) error {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4) // magic, microseconds
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)      // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)      // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 262144) // snaplen
	b = binary.LittleEndian.AppendUint32(b, 1)      // LINKTYPE_ETHERNET
	seq := uint32(1)
	for i, m := range msgs {
		var pkt []byte
		pkt = append(pkt, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00)
		ipStart := len(pkt)
		total := 20 + 20 + len(m)
		if total > 0xffff {
			return fmt.Errorf("message %d of %d bytes does not fit one IPv4 packet", i, len(m))
		}
		pkt = append(pkt, 0x45, 0)
		pkt = binary.BigEndian.AppendUint16(pkt, uint16(total))
		pkt = binary.BigEndian.AppendUint16(pkt, uint16(i))
		pkt = append(pkt, 0x40, 0, 64, 6, 0, 0) // DF, TTL 64, TCP, checksum
		pkt = append(pkt, 192, 0, 2, 1, 192, 0, 2, 2)
		binary.BigEndian.PutUint16(pkt[ipStart+10:], ipChecksum(pkt[ipStart:ipStart+20]))
		pkt = binary.BigEndian.AppendUint16(pkt, 40000)
		pkt = binary.BigEndian.AppendUint16(pkt, 179)
		pkt = binary.BigEndian.AppendUint32(pkt, seq)
		pkt = binary.BigEndian.AppendUint32(pkt, 1)
		pkt = append(pkt, 5<<4, 0x18) // header length, PSH|ACK
		pkt = binary.BigEndian.AppendUint16(pkt, 65535)
		pkt = append(pkt, 0, 0, 0, 0) // checksum (not checked), urgent
		pkt = append(pkt, m...)
		seq += uint32(len(m))
		b = binary.LittleEndian.AppendUint32(b, uint32(i+1))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
		b = append(b, pkt...)
	}
	return os.WriteFile(path, b, 0o644)
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// tsharkFields are the fields the test reads back; each expectation names
// some of them.
var tsharkFields = []string{
	"bgp.type", "bgp.length",
	"bgp.open.version", "bgp.open.myas", "bgp.open.holdtime", "bgp.open.identifier",
	"bgp.cap.type", "bgp.cap.4as", "bgp.cap.mp.afi", "bgp.cap.mp.safi", "bgp.cap.gr.timers.restart_time",
	"bgp.cap.gr.afi", "bgp.cap.orf.fqdn.hostname", "bgp.cap.orf.fqdn.domain_name", "bgp.cap.ap.sendreceive",
	"bgp.withdrawn_prefix", "bgp.nlri_prefix",
	"bgp.update.path_attribute.type_code", "bgp.update.path_attribute.flags",
	"bgp.update.path_attribute.origin", "bgp.update.path_attribute.as_path_segment.type",
	"bgp.update.path_attribute.as_path_segment.as2", "bgp.update.path_attribute.as_path_segment.as4",
	"bgp.update.path_attribute.next_hop", "bgp.update.path_attribute.multi_exit_disc",
	"bgp.update.path_attribute.local_pref", "bgp.update.path_attribute.aggregator_as",
	"bgp.update.path_attribute.aggregator_origin", "bgp.update.path_attribute.community_as",
	"bgp.update.path_attribute.community_value", "bgp.update.path_attribute.originator_id",
	"bgp.path_attribute.cluster_id", "bgp.large_communities.ga", "bgp.large_communities.ldp1",
	"bgp.update.path_attribute.mp_reach_nlri.afi", "bgp.update.path_attribute.mp_reach_nlri.safi",
	"bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6",
	"bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
	"bgp.mp_reach_nlri_ipv6_prefix", "bgp.mp_reach_nlri_ipv4_prefix",
	"bgp.update.path_attribute.mp_unreach_nlri.afi", "bgp.update.path_attribute.mp_unreach_nlri.safi",
	"bgp.mp_unreach_nlri_ipv6_prefix", "bgp.mp_unreach_nlri_ipv4_prefix",
	"bgp.notify.major_error", "bgp.notify.minor_error_open", "bgp.notify.minor_error_update",
	"bgp.notify.minor_error_cease", "bgp.notify.communication", "bgp.notify.error_open.bad_peer_as",
	"bgp.route_refresh.afi", "bgp.route_refresh.subtype", "bgp.route_refresh.safi",
	"_ws.expert.message", "_ws.expert.severity", "_ws.malformed",
}

// expect lists the field values tshark must show for m encoded as b:
// every value of a repeated field in order, joined by "|".
func expect(t *testing.T, m Message, b []byte, as4 bool) map[string]string {
	t.Helper()
	e := map[string]string{
		"bgp.type":   strconv.Itoa(int(m.Type())),
		"bgp.length": strconv.Itoa(len(b)),
	}
	add := func(field string, v any) {
		s := fmt.Sprint(v)
		if old, ok := e[field]; ok {
			s = old + "|" + s
		}
		e[field] = s
	}
	switch m := m.(type) {
	case *Open:
		add("bgp.open.version", m.Version)
		add("bgp.open.myas", m.MyAS)
		add("bgp.open.holdtime", m.HoldTime)
		add("bgp.open.identifier", m.ID)
		for _, c := range m.Capabilities {
			add("bgp.cap.type", uint8(c.Code()))
			switch c := c.(type) {
			case CapAS4:
				add("bgp.cap.4as", c.AS)
			case CapMultiprotocol:
				add("bgp.cap.mp.afi", uint16(c.AFI))
				add("bgp.cap.mp.safi", uint8(c.SAFI))
			case CapGracefulRestart:
				add("bgp.cap.gr.timers.restart_time", c.Time)
				for _, f := range c.Families {
					add("bgp.cap.gr.afi", uint16(f.AFI))
				}
			case CapFQDN:
				add("bgp.cap.orf.fqdn.hostname", c.Hostname)
				add("bgp.cap.orf.fqdn.domain_name", c.Domain)
			case CapAddPath:
				for _, f := range c.Families {
					add("bgp.cap.ap.sendreceive", f.SendReceive)
				}
			}
		}
	case *Update:
		for _, p := range m.Withdrawn {
			add("bgp.withdrawn_prefix", p.Addr())
		}
		for _, p := range m.NLRI {
			add("bgp.nlri_prefix", p.Addr())
		}
		for _, a := range m.Attrs {
			enc, err := appendAttr(nil, a, &Options{AS4: as4})
			if err != nil {
				t.Fatal(err)
			}
			add("bgp.update.path_attribute.type_code", uint8(a.Code()))
			add("bgp.update.path_attribute.flags", fmt.Sprintf("0x%02x", enc[0]))
			switch a := a.(type) {
			case Origin:
				add("bgp.update.path_attribute.origin", uint8(a.Value))
			case ASPath:
				for _, s := range a.Segments {
					add("bgp.update.path_attribute.as_path_segment.type", uint8(s.Type))
					for _, as := range s.ASNs {
						if as4 {
							add("bgp.update.path_attribute.as_path_segment.as4", as)
						} else {
							add("bgp.update.path_attribute.as_path_segment.as2", as2(as))
						}
					}
				}
			case AS4Path:
				for _, s := range a.Segments {
					add("bgp.update.path_attribute.as_path_segment.type", uint8(s.Type))
					for _, as := range s.ASNs {
						add("bgp.update.path_attribute.as_path_segment.as4", as)
					}
				}
			case NextHop:
				add("bgp.update.path_attribute.next_hop", a.Addr)
			case MED:
				add("bgp.update.path_attribute.multi_exit_disc", a.Value)
			case LocalPref:
				add("bgp.update.path_attribute.local_pref", a.Value)
			case Aggregator:
				as := a.AS
				if !as4 {
					as = uint32(as2(as))
				}
				add("bgp.update.path_attribute.aggregator_as", as)
				add("bgp.update.path_attribute.aggregator_origin", a.Addr)
			case AS4Aggregator:
				add("bgp.update.path_attribute.aggregator_as", a.AS)
				add("bgp.update.path_attribute.aggregator_origin", a.Addr)
			case Communities:
				for _, c := range a.Values {
					if c>>16 != 0xffff {
						add("bgp.update.path_attribute.community_as", uint32(c)>>16)
						add("bgp.update.path_attribute.community_value", uint32(c)&0xffff)
					}
				}
			case OriginatorID:
				add("bgp.update.path_attribute.originator_id", a.ID)
			case ClusterList:
				for _, id := range a.IDs {
					add("bgp.path_attribute.cluster_id", id)
				}
			case LargeCommunities:
				for _, c := range a.Values {
					add("bgp.large_communities.ga", c.GlobalAdmin)
					add("bgp.large_communities.ldp1", c.LocalData1)
				}
			case MPReachNLRI:
				add("bgp.update.path_attribute.mp_reach_nlri.afi", uint16(a.AFI))
				add("bgp.update.path_attribute.mp_reach_nlri.safi", uint8(a.SAFI))
				if len(a.Raw) > 0 {
					break
				}
				for i, nh := range a.NextHops {
					switch {
					case nh.Is4():
						add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", nh)
					case i == 1:
						add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local", nh)
					default:
						add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6", nh)
					}
				}
				for _, p := range a.NLRI {
					if p.Addr().Is4() {
						add("bgp.mp_reach_nlri_ipv4_prefix", p.Addr())
					} else {
						add("bgp.mp_reach_nlri_ipv6_prefix", p.Addr())
					}
				}
			case MPUnreachNLRI:
				add("bgp.update.path_attribute.mp_unreach_nlri.afi", uint16(a.AFI))
				add("bgp.update.path_attribute.mp_unreach_nlri.safi", uint8(a.SAFI))
				for _, p := range a.Withdrawn {
					if p.Addr().Is4() {
						add("bgp.mp_unreach_nlri_ipv4_prefix", p.Addr())
					} else {
						add("bgp.mp_unreach_nlri_ipv6_prefix", p.Addr())
					}
				}
			}
		}
	case *Notification:
		add("bgp.notify.major_error", m.Code)
		switch m.Code {
		case CodeOpenMessage:
			add("bgp.notify.minor_error_open", m.Subcode)
			if m.Subcode == SubcodeBadPeerAS && len(m.Data) == 2 {
				add("bgp.notify.error_open.bad_peer_as", binary.BigEndian.Uint16(m.Data))
			}
		case CodeUpdateMessage:
			add("bgp.notify.minor_error_update", m.Subcode)
		case CodeCease:
			add("bgp.notify.minor_error_cease", m.Subcode)
			if s, ok := m.ShutdownMessage(); ok {
				add("bgp.notify.communication", s)
			}
		}
	case *RouteRefresh:
		add("bgp.route_refresh.afi", uint16(m.AFI))
		add("bgp.route_refresh.subtype", m.Subtype)
		add("bgp.route_refresh.safi", uint8(m.SAFI))
	}
	return e
}

// TestTshark cross-checks the encoder with an independent decoder: every
// golden and round-trip message goes into a pcap on TCP port 179, and
// tshark must decode each field to the value encoded and flag nothing
// malformed (no expert info of warning or error severity).
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (.ci/run installs it): no independent decoder to cross-check with")
	}
	dir := t.TempDir()
	for _, as4 := range []bool{true, false} {
		name := map[bool]string{true: "as4", false: "as2"}[as4]
		t.Run(name, func(t *testing.T) {
			o := &Options{AS4: as4}
			type entry struct {
				name string
				m    Message
				b    []byte
			}
			var entries []entry
			if as4 {
				for _, g := range goldens {
					m, err := Parse(unhex(t, g.hex), seedOpts)
					if err != nil {
						t.Fatal(err)
					}
					entries = append(entries, entry{g.name, m, unhex(t, g.hex)})
				}
			}
			rt := roundTripMessages()
			rt["2-octet peer"] = &Update{Attrs: For2OctetPeer([]Attr{Origin{},
				ASPath{Segments: []ASSegment{seq(4200000001, 65001)}}, NextHop{Addr: addr("192.0.2.1")},
				Aggregator{AS: 4200000001, Addr: addr("192.0.2.1")}}), NLRI: []netip.Prefix{prefix("10.0.0.0/8")}}
			keys := make([]string, 0, len(rt))
			for k := range rt {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				b, err := rt[k].AppendTo(nil, o)
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, entry{k, rt[k], b})
			}
			msgs := make([][]byte, len(entries))
			for i, e := range entries {
				msgs[i] = e.b
			}
			pcap := filepath.Join(dir, name+".pcap")
			if err := writePcap(pcap, msgs); err != nil {
				t.Fatal(err)
			}
			asnLen := map[bool]string{true: "4", false: "2"}[as4]
			args := []string{"-r", pcap, "-o", "bgp.asn_len:" + asnLen, "-T", "fields",
				"-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t", "-e", "frame.number"}
			for _, f := range tsharkFields {
				args = append(args, "-e", f)
			}
			cmd := exec.Command(tshark, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v\n%s", err, stderr.String())
			}
			rows := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(rows) != len(entries) {
				t.Fatalf("tshark shows %d frames, wrote %d", len(rows), len(entries))
			}
			for i, row := range rows {
				cols := strings.Split(row, "\t")
				if len(cols) != len(tsharkFields)+1 {
					t.Fatalf("frame %d: %d columns", i+1, len(cols))
				}
				got := map[string]string{}
				for j, f := range tsharkFields {
					got[f] = cols[j+1]
				}
				e := entries[i]
				if o, ok := e.m.(*Open); ok && o.ExtendedParams && !tsharkKnowsRFC9072(t, tshark) {
					t.Logf("%s: skipped, this tshark predates RFC 9072 extended optional parameters", e.name)
					continue
				}
				if got["_ws.malformed"] != "" || strings.Contains(got["_ws.expert.severity"], "6291456") ||
					strings.Contains(got["_ws.expert.severity"], "8388608") {
					t.Errorf("%s: tshark flags it: %s (%s)", e.name, got["_ws.expert.message"], Summary(e.m))
				}
				for f, want := range expect(t, e.m, e.b, as4) {
					if got[f] != want {
						t.Errorf("%s: %s = %q, want %q", e.name, f, got[f], want)
					}
				}
			}
		})
	}
}

// tsharkKnowsRFC9072 reports whether tshark decodes RFC 9072 extended
// optional parameters, which Wireshark does from version 4.2 on.
func tsharkKnowsRFC9072(t *testing.T, tshark string) bool {
	out, err := exec.Command(tshark, "-v").Output()
	if err != nil {
		t.Fatalf("tshark -v: %v", err)
	}
	v := regexp.MustCompile(`(\d+)\.(\d+)\.\d+`).FindStringSubmatch(string(out))
	if v == nil {
		t.Fatalf("no version in tshark -v output %q", out)
	}
	major, _ := strconv.Atoi(v[1])
	minor, _ := strconv.Atoi(v[2])
	return major > 4 || major == 4 && minor >= 2
}
