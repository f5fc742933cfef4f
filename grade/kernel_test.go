package grade_test

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"lab/cli/commands"
	"lab/cli/grammar"
	"lab/grade"
	"lab/internal/testrun"
	"lab/netemu"
	"lab/speaker"
	"lab/speakerconf"
	"lab/topo"
)

// kernelLab is the seed lab built in namespaces, with its speakers made
// but not started: a test starts them (start) when it wants.
type kernelLab struct {
	env *commands.Env
	sps []*speaker.Speaker
}

func newKernelLab(t *testing.T) *kernelLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
	m, err := topo.LoadAs("../topologies/simple-bgp.yaml", testrun.Name(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nl, err := netemu.Build(ctx, m, netemu.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatalf("build lab: %v", err)
	}
	testrun.Cleanup(t, func() {
		if err := nl.Close(); err != nil {
			t.Errorf("tear down: %v", err)
		}
	})
	l := &kernelLab{env: &commands.Env{Lab: m, Net: nl, Routers: map[string]commands.Router{}}}
	for _, r := range m.Routers {
		cfg, err := speakerconf.Config(m, r, nl.NamespacePath(r.Name))
		if err != nil {
			t.Fatal(err)
		}
		sp, err := speaker.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testrun.Cleanup(t, func() { sp.Close() })
		if err := sp.Listen(); err != nil {
			t.Fatal(err)
		}
		l.env.Routers[r.Name] = sp
		l.sps = append(l.sps, sp)
	}
	return l
}

func (l *kernelLab) start(t *testing.T) {
	t.Helper()
	for _, sp := range l.sps {
		if err := sp.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// check runs a `check` line as the shell's daemon does.
func (l *kernelLab) check(t *testing.T, line string) grade.Result {
	t.Helper()
	return l.checkOn(t, l.env.GradeLab(), line)
}

// firstShow is a lab that says when a check first asked it something.
type firstShow struct {
	grade.Lab
	asked chan struct{}
	once  *sync.Once
}

func (f firstShow) Show(ctx context.Context, node, cmd string) ([]byte, error) {
	b, err := f.Lab.Show(ctx, node, cmd)
	f.once.Do(func() { close(f.asked) })
	return b, err
}

func (l *kernelLab) checkOn(t *testing.T, lab grade.Lab, line string) grade.Result {
	t.Helper()
	p, err := grammar.Shell.Parse(topo.GrammarLab(l.env.Lab), line)
	if err != nil {
		t.Fatal(err)
	}
	node, c, wait, err := grade.FromArgs(p.Entry.Name, p.Args)
	if err != nil {
		t.Fatal(err)
	}
	return grade.Run(context.Background(), lab, node, c, time.Now().Add(wait))
}

func (l *kernelLab) run(t *testing.T, line string) {
	t.Helper()
	if _, err := l.env.Run(context.Background(), line, io.Discard, false); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
}

// Retries: a check started before the speakers fails until BGP has
// converged and passes then, woken by the speakers' events (no fixed
// sleep); a `missing` check passes once a withdrawal has spread, and the
// kernel route goes with it; a check whose wait runs out fails, after its
// wait and not much later, saying what it saw.
func TestRetries(t *testing.T) {
	l := newKernelLab(t)
	done := make(chan grade.Result, 1)
	asked := make(chan struct{})
	go func() {
		done <- l.checkOn(t, firstShow{Lab: l.env.GradeLab(), asked: asked, once: &sync.Once{}}, "check as1ra prefix 2001:1234:4::/64 best nexthop as2rb aspath 2 4 wait 30")
	}()
	// The check's first try finds the speakers not running.
	<-asked
	l.start(t)
	r := <-done
	if !r.Passed || r.Tries < 2 || r.Seconds >= 30 {
		t.Fatalf("the check before convergence: %+v; want passed after several tries, before its wait", r)
	}
	t.Logf("passed after convergence: %d tries, %.3fs", r.Tries, r.Seconds)

	// Nothing is missing yet: the check is retried until its wait.
	r = l.check(t, "check as1ra prefix 2001:1234:4::/64 missing wait 0.3")
	if r.Passed || r.Seconds < 0.3 || !strings.Contains(r.Seen, "should not be there") {
		t.Errorf("missing before the withdrawal: %+v", r)
	}
	l.run(t, "as4rd withdraw 2001:1234:4::/64")
	for _, line := range []string{
		"check as1ra prefix 2001:1234:4::/64 missing wait 10",
		"check as3rc prefix 2001:1234:4::/64 missing wait 10",
		"check as1ra route 2001:1234:4::/64 missing wait 10",
		"check h1 ping h4 ipv6 fail wait 10",
	} {
		if r := l.check(t, line); !r.Passed {
			t.Errorf("%s: %+v", line, r)
		}
	}
	if r := l.check(t, "check h1 ping h4 ipv4"); !r.Passed {
		t.Errorf("IPv4 still reaches h4: %+v", r)
	}

	// A wait that times out.
	start := time.Now()
	r = l.check(t, "check as1ra prefix 2001:1234:2::/64 best nexthop as3rc wait 0.5")
	el := time.Since(start)
	if r.Passed || el < 500*time.Millisecond || el > 2*time.Second || !strings.Contains(r.Seen, "best (AS Path), via 2001:12::b (as2rb), aspath 2") {
		t.Errorf("a wait that times out: %+v after %v", r, el)
	}
	t.Logf("timed out after %v, %d tries: %s", el, r.Tries, r.Seen)
}
