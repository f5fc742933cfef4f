package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lab/cli/grammar"
	"lab/grade"
	"lab/netemu"
	"lab/speaker"
	"lab/speaker/wire"
	"lab/topo"
)

// cmdCheck is `check NODE KIND ...`: one of the lab's typed checks
// (lab/grade), retried until it passes or its wait is over. A failed
// check fails the command, so a piped script exits 1.
func cmdCheck(entry string) handler {
	return func(ctx context.Context, e *Env, a grammar.Args, o *output) error {
		node, c, wait, err := grade.FromArgs(entry, a)
		if err != nil {
			return err
		}
		res := grade.Run(ctx, e.GradeLab(), node, c, time.Now().Add(wait))
		o.result(res)
		WriteResult(o.w, o.json, res)
		if !res.Passed {
			return errSilent
		}
		return nil
	}
}

// WriteResult prints a check's result as the shell shows it (nothing when
// quiet): ✔ or ✘, the check, its time, and what it saw.
func WriteResult(w io.Writer, quiet bool, r grade.Result) {
	if quiet {
		return
	}
	mark := "✔"
	if !r.Passed {
		mark = "✘"
	}
	tries := ""
	if r.Tries > 1 {
		tries = fmt.Sprintf(", %d tries", r.Tries)
	}
	fmt.Fprintf(w, "%s %s (%.2fs%s)\n", mark, r.Check, r.Seconds, tries)
	if r.Seen != "" {
		fmt.Fprintf(w, "    %s\n", r.Seen)
	}
}

// GradeLab is the running lab as the checks of lab/grade see it: the
// routers' show commands answered in-process (their JSON, FRR's shape),
// pings and traceroutes from inside the nodes, and the speakers' events
// to wake retries.
func (e *Env) GradeLab() grade.Lab { return envLab{e} }

type envLab struct{ e *Env }

func (l envLab) Model() *topo.Lab { return l.e.Lab }

func (l envLab) Show(ctx context.Context, node, command string) ([]byte, error) {
	e := l.e
	if fam, ok := strings.CutSuffix(strings.TrimPrefix(command, "show "), " route"); ok && (fam == "ip" || fam == "ipv6") {
		// Any node's kernel, hosts' too.
		if e.Lab.Node(node) == nil {
			return nil, fmt.Errorf("no node %q", node)
		}
		routes, err := e.kernelRoutes(node, fam == "ipv6")
		if err != nil {
			return nil, err
		}
		return json.Marshal(kernelRoutesJSON(routes))
	}
	_, daemon := e.Daemons[node]
	if _, ok := e.Routers[node]; !ok && !daemon {
		if r := e.Lab.Router(node); r != nil && r.External {
			return nil, fmt.Errorf("%s is an external router: its BGP daemon is not the lab's, and the lab cannot ask it", node)
		}
		return nil, fmt.Errorf("%s is not a router running the lab's speaker", node)
	}
	// A router the lab runs FRR on answers through vtysh, in FRR's own
	// JSON (runOnDaemon); BIRD's birdc has none, and says so.
	v, err := e.Run(ctx, node+" "+command, io.Discard, true)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// pingSeq numbers the checks' echoes, as pingall numbers its own.
var pingSeq atomic.Uint32

func (l envLab) Ping(ctx context.Context, node string, to netip.Addr, timeout time.Duration) error {
	_, err := l.e.Ping(ctx, node, to, uint16(pingSeq.Add(1)), timeout)
	return err
}

// Traceroute runs traceroute(8) in the node: one probe per hop, a
// second's wait, at most 20 hops.
func (l envLab) Traceroute(ctx context.Context, node string, to netip.Addr) ([]netip.Addr, error) {
	args := []string{"-n", "-q", "1", "-w", "1", "-m", "20"}
	if to.Is6() {
		args = append(args, "-6")
	}
	cmd := netemu.Command(l.e.Net.NamespacePath(node), "traceroute", append(args, to.String())...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: traceroute: %w", node, err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	stop()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil && out.Len() == 0 {
		return nil, fmt.Errorf("%s: traceroute %s: %v: %s", node, to, err, strings.TrimSpace(errb.String()))
	}
	return parseTraceroute(out.String()), nil
}

// parseTraceroute reads traceroute -n -q 1's hops: " 2  10.0.1.2  0.05 ms"
// or " 3  *".
func parseTraceroute(s string) []netip.Addr {
	var hops []netip.Addr
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] == "traceroute" {
			continue
		}
		a, _ := netip.ParseAddr(f[1])
		hops = append(hops, a)
	}
	return hops
}

// State fingerprints the speakers' sessions (state, End-of-RIB, queues,
// UPDATE counters) and tables (their version), once every decision so far
// is in the kernel, and says whether they are settled: no session half
// open (OpenSent, OpenConfirm, or Established at one end only), and every
// session established at both ends has exchanged End-of-RIB and has
// nothing queued or in flight, as `wait` requires of a converged lab. A
// session that cannot come up (a wrong AS, a link down), or that runs
// over a link down or blackholed, does not keep the lab from settling.
func (l envLab) State(ctx context.Context) (string, bool) {
	e := l.e
	var b strings.Builder
	peers := map[string]map[netip.Addr]speaker.PeerStatus{}
	settled := true
	for _, name := range e.sortedNodeNames() {
		sp, ok := e.Routers[name]
		if !ok {
			continue
		}
		if err := sp.SyncFIB(ctx); err != nil {
			return "", false
		}
		sum, err := sp.Summary(ctx, wire.IPv4Unicast)
		if err != nil {
			return "", false
		}
		fmt.Fprintf(&b, "%s v%d", name, sum.TableVersion)
		ps := map[netip.Addr]speaker.PeerStatus{}
		for _, p := range sp.Peers() {
			ps[p.Addr] = p
			fmt.Fprintf(&b, " %s:%s:%d:%d:%d:%d:%d", p.Addr, p.State, p.EndOfRIBReceived, p.InQ, p.OutQ, p.UpdatesSent, p.UpdatesRcvd)
			if p.State == speaker.OpenSent || p.State == speaker.OpenConfirm {
				settled = false
			}
		}
		peers[name] = ps
		b.WriteByte('\n')
	}
	// A session over a link that is down or blackholed stays Established
	// until its hold timer expires, with what was sent into the link
	// never received: it is waited for no more than a session that cannot
	// come up, or a check after `link A B down` could pass only when the
	// hold timer (three minutes by default) has run out.
	cut := map[*topo.Link]bool{}
	if e.Net != nil {
		var ks []*topo.Link
		for _, s := range e.Lab.Sessions {
			if k := s.Link; k != nil {
				if _, ok := cut[k]; !ok {
					cut[k] = false
					ks = append(ks, k)
				}
			}
		}
		for _, st := range e.Net.LinkStatuses(ks) {
			cut[st.Link] = !st.Up()
		}
	}
	for _, s := range e.Lab.Sessions {
		pa, okA := peers[s.A.Router.Name][s.B.Addr]
		pb, okB := peers[s.B.Router.Name][s.A.Addr]
		switch {
		case okA && okB && s.Link != nil && cut[s.Link]:
		case okA && okB:
			upA, upB := pa.State == speaker.Established, pb.State == speaker.Established
			if upA != upB || (upA && (pa.EndOfRIBReceived == 0 || pb.EndOfRIBReceived == 0 ||
				pa.InQ+pa.OutQ+pb.InQ+pb.OutQ > 0 || pa.UpdatesSent != pb.UpdatesRcvd || pb.UpdatesSent != pa.UpdatesRcvd)) {
				settled = false
			}
		case okA || okB:
			// A session with an external router: ours must have its
			// table and nothing queued.
			p := pa
			if okB {
				p = pb
			}
			if p.State == speaker.Established && (p.EndOfRIBReceived == 0 || p.InQ+p.OutQ > 0) {
				settled = false
			}
		}
	}
	return b.String(), settled
}

// Changes merges every speaker's events into one channel that holds at
// most one wake-up. The forwarding goroutines own nothing but their
// subscription; stop ends them.
func (l envLab) Changes() (<-chan struct{}, func()) {
	out := make(chan struct{}, 1)
	var stops []func()
	var wg sync.WaitGroup
	for _, sp := range l.e.Routers {
		ch, stop := sp.Subscribe()
		stops = append(stops, stop)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}()
	}
	return out, func() {
		for _, s := range stops {
			s()
		}
		wg.Wait()
	}
}
