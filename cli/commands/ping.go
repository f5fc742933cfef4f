package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"lab/cli/grammar"
	"lab/topo"
)

// PingResult is one echo of pingall.
type PingResult struct {
	Src    string     `json:"src"`
	Dst    string     `json:"dst"`
	Family string     `json:"family"` // "IPv4" or "IPv6"
	Addr   netip.Addr `json:"addr"`
	OK     bool       `json:"ok"`
	RTTms  float64    `json:"rtt_ms,omitempty"`
	Error  string     `json:"error,omitempty"`
}

// PingSummary is pingall's JSON result.
type PingSummary struct {
	Results      []PingResult `json:"results"`
	Sent         int          `json:"sent"`
	Received     int          `json:"received"`
	DroppedPct   int          `json:"dropped_pct"`
	Incompatible [][2]string  `json:"incompatible,omitempty"`
}

// errSilent fails a command whose output already says why.
var errSilent = errors.New("")

// maxPingers bounds the echoes in flight: a 200-host lab has 80,000 pairs.
const maxPingers = 128

func cmdPing(use4, use6, pair bool) handler {
	return func(ctx context.Context, e *Env, args grammar.Args, o *output) error {
		timeout := time.Second
		if s, ok := args.Float("timeout"); ok {
			if s > 60 {
				return fmt.Errorf("timeout %q: expected seconds, more than 0 and at most 60", args.Text("timeout"))
			}
			timeout = time.Duration(s * float64(time.Second))
		}
		hosts := e.Lab.Hosts
		if pair {
			if len(hosts) < 2 {
				return errors.New("pingpair needs two hosts")
			}
			hosts = hosts[:2]
		}
		sum := e.PingHosts(ctx, hosts, use4, use6, timeout)
		printPing(o, hosts, use4, use6, sum)
		o.result(sum)
		if sum.Sent == 0 || sum.Received < sum.Sent {
			return errSilent
		}
		return nil
	}
}

// PingHosts pings between every ordered pair of hosts, in parallel, over
// the families asked for that both hosts have, as IPMininet's pingall. The
// results are in (source, family, destination) order.
func (e *Env) PingHosts(ctx context.Context, hosts []*topo.Host, use4, use6 bool, timeout time.Duration) *PingSummary {
	sum := &PingSummary{}
	for _, src := range hosts {
		for _, f := range families(use4, use6) {
			if _, ok := hostAddr(src, f); !ok {
				continue
			}
			for _, dst := range hosts {
				if dst == src {
					continue
				}
				da, ok := hostAddr(dst, f)
				if !ok {
					continue
				}
				sum.Results = append(sum.Results, PingResult{Src: src.Name, Dst: dst.Name, Family: f.String(), Addr: da.Addr()})
			}
		}
	}
	for i, a := range hosts {
		for _, b := range hosts[i+1:] {
			if !shareFamily(a, b, use4, use6) {
				sum.Incompatible = append(sum.Incompatible, [2]string{a.Name, b.Name})
			}
		}
	}

	var wg sync.WaitGroup
	sem := make(chan struct{}, maxPingers)
	var seq atomic.Uint32
	for i := range sum.Results {
		r := &sum.Results[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rtt, err := e.Ping(ctx, r.Src, r.Addr, uint16(seq.Add(1)), timeout)
			if err != nil {
				r.Error = err.Error()
				return
			}
			r.OK, r.RTTms = true, float64(rtt.Microseconds())/1000
		}()
	}
	wg.Wait()
	for _, r := range sum.Results {
		sum.Sent++
		if r.OK {
			sum.Received++
		}
	}
	if sum.Sent > 0 {
		// Mininet truncates the percentage (%i).
		sum.DroppedPct = 100 * (sum.Sent - sum.Received) / sum.Sent
	}
	return sum
}

func printPing(o *output, hosts []*topo.Host, use4, use6 bool, sum *PingSummary) {
	over := "IPv4 and IPv6"
	switch {
	case use4 && !use6:
		over = "IPv4"
	case use6 && !use4:
		over = "IPv6"
	}
	o.printf("*** Ping: testing reachability over %s\n", over)
	i := 0
	for _, src := range hosts {
		for _, f := range families(use4, use6) {
			if i >= len(sum.Results) || sum.Results[i].Src != src.Name || sum.Results[i].Family != f.String() {
				continue
			}
			line := fmt.Sprintf("%s --%s--> ", src.Name, f)
			for ; i < len(sum.Results) && sum.Results[i].Src == src.Name && sum.Results[i].Family == f.String(); i++ {
				if sum.Results[i].OK {
					line += sum.Results[i].Dst + " "
				} else {
					line += "X "
				}
			}
			o.printf("%s\n", line)
		}
	}
	for _, p := range sum.Incompatible {
		o.printf("*** Warning: %s and %s have no global address in the same IP version\n", p[0], p[1])
	}
	if sum.Sent == 0 {
		o.printf("*** Warning: No packets sent\n")
		return
	}
	o.printf("*** Results: %d%% dropped (%d/%d received)\n", sum.DroppedPct, sum.Received, sum.Sent)
}

func families(use4, use6 bool) []topo.Family {
	var fs []topo.Family
	if use4 {
		fs = append(fs, topo.IPv4)
	}
	if use6 {
		fs = append(fs, topo.IPv6)
	}
	return fs
}

func hostAddr(h *topo.Host, f topo.Family) (netip.Prefix, bool) {
	for _, i := range h.Interfaces {
		if p, ok := i.Addr(f); ok {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func shareFamily(a, b *topo.Host, use4, use6 bool) bool {
	for _, f := range families(use4, use6) {
		_, ok1 := hostAddr(a, f)
		_, ok2 := hostAddr(b, f)
		if ok1 && ok2 {
			return true
		}
	}
	return false
}

// Ping sends one ICMP echo from node src to dst and waits for its reply.
// The socket is an ICMP datagram ("ping") socket opened inside the node's
// namespace: the kernel demultiplexes replies per socket, so any number of
// pings run in parallel without seeing each other's replies, and the
// packets are exactly what ping(8) sends.
func (e *Env) Ping(ctx context.Context, src string, dst netip.Addr, seq uint16, timeout time.Duration) (time.Duration, error) {
	network, laddr := "udp4", "0.0.0.0"
	var typ icmp.Type = ipv4.ICMPTypeEcho
	proto := 1
	if dst.Is6() {
		network, laddr, typ, proto = "udp6", "::", ipv6.ICMPTypeEchoRequest, 58
	}
	var c *icmp.PacketConn
	err := e.Net.Do(src, func() error {
		var err error
		c, err = icmp.ListenPacket(network, laddr)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s: opening ICMP socket: %w", src, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	payload := []byte("lab pingall " + src)
	m := icmp.Message{Type: typ, Body: &icmp.Echo{Seq: int(seq), Data: payload}}
	b, err := m.Marshal(nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	c.SetReadDeadline(start.Add(timeout))
	if _, err := c.WriteTo(b, &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("no reply within %v", timeout)
		}
		rm, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		echo, ok := rm.Body.(*icmp.Echo)
		if !ok || echo.Seq != int(seq) || !bytes.Equal(echo.Data, payload) {
			continue
		}
		if rm.Type == ipv4.ICMPTypeEchoReply || rm.Type == ipv6.ICMPTypeEchoReply {
			return time.Since(start), nil
		}
	}
}
