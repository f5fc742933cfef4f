package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lab/internal/profile"
	"lab/internal/testrun"
	"lab/topo"
)

// Limits of one iteration.
const (
	upTimeout       = 2 * time.Minute
	convergeTimeout = 3 * time.Minute
	downTimeout     = time.Minute
	destroyTimeout  = 2 * time.Minute
	// pollInterval separates two sweeps over the routers not yet
	// converged: often enough to time convergence to a few tens of
	// milliseconds, rarely enough to leave the CPUs to the lab.
	pollInterval = 40 * time.Millisecond
	// pollers dump namespaces in parallel; the machine has 2 CPUs.
	pollers = 2
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain makes the binary a recorded test run (lab/internal/testrun):
// its temporary directories (the lab binary it builds, the labs' state
// directories) are the run's, and the labs' daemons carry its mark, so a
// benchmark interrupted or killed leaves nothing once `lab clean` ran.
func TestMain(m *testing.M) { testrun.Main(m) }

// labBinary returns the lab binary: $LAB_BIN, or ./cmd/lab built once.
func labBinary(b *testing.B) string {
	binOnce.Do(func() {
		if p := os.Getenv("LAB_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		var binDir string
		binDir, binErr = os.MkdirTemp("", "labbench-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "lab")
		// The go command of this test's toolchain: on PATH, or where
		// make puts it.
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = "/usr/local/go/bin/go"
		}
		out, err := exec.Command(gobin, "build", "-o", binPath, "lab/cmd/lab").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build lab/cmd/lab: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

func needRoot(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates network namespaces")
	}
}

func BenchmarkConvergeBA50(b *testing.B)  { benchConverge(b, 50) }
func BenchmarkConvergeBA200(b *testing.B) { benchConverge(b, 200) }
func BenchmarkConvergeBA500(b *testing.B) { benchConverge(b, 500) }

// BenchmarkConvergeBA200Relations is BA200 with a relation on every link
// (provider-customer, `lab generate ba --relations`): the cost of
// Gao-Rexford policy on every session, against BenchmarkConvergeBA200.
// Every AS still reaches every prefix (each has a chain of providers up
// to the oldest AS), so convergence means the same full tables.
func BenchmarkConvergeBA200Relations(b *testing.B) {
	benchConvergeWith(b, 200, topo.BAOptions{Relations: true})
}

// benchConverge runs a Barabási–Albert lab of n ASes (m=2, seed 1) from
// `lab up` to full convergence, then `lab down`, b.N times.
func benchConverge(b *testing.B, n int) { benchConvergeWith(b, n, topo.BAOptions{}) }

func benchConvergeWith(b *testing.B, n int, opt topo.BAOptions) {
	y, err := topo.GenerateBAWith(n, 2, 1, opt)
	if err != nil {
		b.Fatal(err)
	}
	benchConvergeFile(b, fmt.Sprintf("ba%d.yaml", n), y)
}

// benchConvergeFile runs the topology y (written to a file named name)
// from `lab up` to full convergence, then `lab down`, b.N times, and
// reports the metrics of bench's doc.
func benchConvergeFile(b *testing.B, name string, y []byte) {
	needRoot(b)
	bin := labBinary(b)
	dir := b.TempDir()
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, y, 0o644); err != nil {
		b.Fatal(err)
	}
	var sum metrics
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := runOnce(b, bin, file, dir)
		sum.add(m)
	}
	b.StopTimer()
	nf := float64(b.N)
	b.ReportMetric(sum.up.Seconds()/nf, "up-s/op")
	b.ReportMetric(sum.converge.Seconds()/nf, "converge-s/op")
	b.ReportMetric(sum.peakMB/nf, "peak-MB/op")
	b.ReportMetric(sum.daemonCPU.Seconds()/nf, "daemon-cpu-s/op")
	b.ReportMetric(sum.pollCPU.Seconds()/nf, "poll-cpu-s/op")
	b.ReportMetric(sum.down.Seconds()/nf, "down-s/op")
	b.ReportMetric(sum.destroy.Seconds()/nf, "destroy-s/op")
}

type metrics struct {
	up, converge, down time.Duration
	destroy            time.Duration
	daemonCPU, pollCPU time.Duration
	peakMB             float64
}

func (m *metrics) add(o metrics) {
	m.up += o.up
	m.converge += o.converge
	m.down += o.down
	m.destroy += o.destroy
	m.daemonCPU += o.daemonCPU
	m.pollCPU += o.pollCPU
	m.peakMB += o.peakMB
}

// labRun is one lab started by the benchmark.
type labRun struct {
	b      *testing.B
	bin    string
	name   string
	runDir string
	pid    int
	// progress, when set, is told every half second how many routers
	// have their full table.
	progress func(done int)
}

func (l *labRun) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, l.bin, args...)
	c.Env = append(os.Environ(), "LAB_RUN_DIR="+l.runDir)
	return c
}

// runOnce is one iteration: up, converge, measure, down.
func runOnce(b *testing.B, bin, file, dir string) metrics {
	m, err := topo.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	l := &labRun{b: b, bin: bin, name: uniqueName(b), runDir: filepath.Join(dir, "run-"+strconv.Itoa(b.N)+"-"+uniqueName(b))}
	if err := os.MkdirAll(l.runDir, 0o755); err != nil {
		b.Fatal(err)
	}
	testrun.Cleanup(b, l.cleanup)

	var out metrics
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
	up := l.cmd(ctx, "up", "-d", "--name", l.name, file)
	cpuProf, heapProf := l.profilePaths(file)
	if cpuProf != "" {
		up.Env = append(up.Env, profile.CPUEnv+"="+cpuProf, profile.HeapEnv+"="+heapProf)
	}
	upOut, err := up.CombinedOutput()
	cancel()
	out.up = time.Since(t0)
	if err != nil {
		b.Fatalf("lab up: %v\n%s%s", err, tail(upOut, 20), l.logTail())
	}
	if l.pid, err = l.daemonPID(); err != nil {
		b.Fatal(err)
	}

	conv, err := l.waitConverged(m, t0)
	if err != nil {
		b.Fatalf("%v%s", err, l.logTail())
	}
	out.converge = conv.at.Sub(t0)
	if cpuProf != "" {
		l.endProfiles(cpuProf, heapProf)
	}
	out.pollCPU = conv.cpu
	if out.peakMB, err = peakRSSMB(l.pid); err != nil {
		b.Fatal(err)
	}
	if out.daemonCPU, err = processCPU(l.pid); err != nil {
		b.Fatal(err)
	}

	var paths []string
	for _, n := range m.Nodes() {
		paths = append(paths, filepath.Join("/run/netns", l.name+"-"+n.Name))
	}
	w, err := watchNamespaces(paths)
	if err != nil {
		b.Fatalf("watching the lab's namespaces: %v", err)
	}
	defer w.close()
	t1 := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), downTimeout)
	downOut, err := l.cmd(ctx, "down", l.name).CombinedOutput()
	cancel()
	t2 := time.Now()
	out.down = t2.Sub(t1)
	if err != nil {
		b.Fatalf("lab down: %v\n%s", err, tail(downOut, 20))
	}
	if err := l.checkGone(m); err != nil {
		b.Fatal(err)
	}
	// The kernel destroys the namespaces, with their devices and routes,
	// after lab down: the next iteration must not compete with that.
	if err := w.wait(destroyTimeout); err != nil {
		b.Fatal(err)
	}
	out.destroy = time.Since(t2)
	return out
}

// profilePaths are the daemon's profiles when LAB_BENCH_PROFILE names a
// directory: <dir>/<topology>-<lab>.cpu and .heap.
func (l *labRun) profilePaths(file string) (cpu, heap string) {
	dir := os.Getenv("LAB_BENCH_PROFILE")
	if dir == "" {
		return "", ""
	}
	base := filepath.Join(dir, strings.TrimSuffix(filepath.Base(file), ".yaml")+"-"+l.name)
	return base + ".cpu", base + ".heap"
}

// endProfiles has the daemon write its profiles now (lab/internal/profile):
// SIGUSR1, but only to a daemon that created its CPU profile at start, a
// sign that it handles the signal (by default it would end the process).
func (l *labRun) endProfiles(cpu, heap string) {
	if _, err := os.Stat(cpu); err != nil {
		l.b.Logf("no daemon profile (%v): the daemon does not call profile.Start", err)
		return
	}
	syscall.Kill(l.pid, syscall.SIGUSR1)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, err := os.Stat(heap); err == nil && st.Size() > 0 {
			l.b.Logf("daemon profiles: %s %s", cpu, heap)
			return
		}
	}
	l.b.Logf("the daemon wrote no heap profile to %s", heap)
}

// uniqueName is a lab name no other run uses, whose namespaces are named
// like the test run's (testrun.Name).
func uniqueName(b *testing.B) string { return testrun.Name(b) }

func (l *labRun) statePath() string { return filepath.Join(l.runDir, l.name+".json") }

func (l *labRun) daemonPID() (int, error) {
	b, err := os.ReadFile(l.statePath())
	if err != nil {
		return 0, fmt.Errorf("lab state: %w", err)
	}
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("lab state %s: %w", l.statePath(), err)
	}
	if st.PID <= 0 {
		return 0, fmt.Errorf("lab state %s: no pid", l.statePath())
	}
	return st.PID, nil
}

func (l *labRun) logTail() string {
	b, err := os.ReadFile(filepath.Join(l.runDir, l.name+".log"))
	if err != nil {
		return ""
	}
	return "\ndaemon log (last lines):\n" + tail(b, 30)
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// converged is when the last router got its full table, and what the
// polling cost this process in CPU time.
type converged struct {
	at  time.Time
	cpu time.Duration
}

// router is one router's polling state.
type router struct {
	name   string
	d      *tableDumper
	want   map[netip.Prefix]int // prefix → bit index
	seen   []bool
	done   bool
	doneAt time.Time
	// lacking are prefixes the last dump did not find, not yet found
	// since.
	lacking []netip.Prefix
}

// check reports whether r's table holds every prefix. While prefixes
// found missing by the last dump are still missing, a few lookups answer
// (the first of them usually); when they are all there, a dump of both
// families counts every prefix again.
func (r *router) check(buf []byte) (bool, error) {
	for len(r.lacking) > 0 {
		ok, err := r.d.has(buf, r.lacking[0])
		if err != nil {
			return false, fmt.Errorf("%s: %w", r.name, err)
		}
		if !ok {
			return false, nil
		}
		r.lacking = r.lacking[1:]
	}
	return r.recount(buf)
}

// recount dumps r's tables and counts the prefixes it holds.
func (r *router) recount(buf []byte) (bool, error) {
	clear(r.seen)
	have := 0
	mark := func(p netip.Prefix) {
		if i, ok := r.want[p]; ok && !r.seen[i] {
			r.seen[i] = true
			have++
		}
	}
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := r.d.dump(buf, fam, mark); err != nil {
			return false, fmt.Errorf("%s: %w", r.name, err)
		}
	}
	r.lacking = r.missing()
	if len(r.lacking) > maxLacking {
		r.lacking = r.lacking[:maxLacking]
	}
	return have == len(r.want), nil
}

// maxLacking is the number of missing prefixes a router's check looks up
// one by one before it dumps the tables again.
const maxLacking = 8

func (r *router) missing() []netip.Prefix {
	var out []netip.Prefix
	for p, i := range r.want {
		if !r.seen[i] {
			out = append(out, p)
		}
	}
	return out
}

// waitConverged polls every router's kernel table until each holds a
// route of ours to every other router's prefixes, confirmed by a final
// sweep over all of them.
func (l *labRun) waitConverged(m *topo.Lab, t0 time.Time) (converged, error) {
	var rs []*router
	defer func() {
		for _, r := range rs {
			r.d.Close()
		}
	}()
	for _, x := range m.Routers {
		d, err := openDumper(filepath.Join("/run/netns", l.name+"-"+x.Name))
		if err != nil {
			return converged{}, err
		}
		r := &router{name: x.Name, d: d, want: map[netip.Prefix]int{}}
		rs = append(rs, r)
		for _, y := range m.Routers {
			if y == x {
				continue
			}
			for _, o := range y.Originate {
				r.want[o.Prefix] = len(r.want)
			}
		}
		r.seen = make([]bool, len(r.want))
		// The first check is a lookup too, not a dump of every table
		// at a time when none is complete.
		for p := range r.want {
			r.lacking = append(r.lacking, p)
			break
		}
	}
	bufs := make([][]byte, pollers)
	for i := range bufs {
		bufs[i] = make([]byte, dumpBufLen)
	}
	cpu0 := selfCPU()
	var lastProgress time.Time
	timeout := convergeTimeout
	if d, err := time.ParseDuration(os.Getenv("LAB_BENCH_TIMEOUT")); err == nil {
		timeout = d
	}
	deadline := t0.Add(timeout)
	for {
		var todo []*router
		for _, r := range rs {
			if !r.done {
				todo = append(todo, r)
			}
		}
		final := len(todo) == 0
		if final {
			todo = rs // confirm: nobody lost a route since
		}
		if err := sweep(todo, bufs); err != nil {
			return converged{}, err
		}
		if l.progress != nil && time.Since(lastProgress) >= 500*time.Millisecond {
			lastProgress = time.Now()
			k := 0
			for _, r := range rs {
				if r.done {
					k++
				}
			}
			l.progress(k)
		}
		if final {
			all := true
			for _, r := range rs {
				all = all && r.done
			}
			if all {
				c := converged{cpu: selfCPU() - cpu0}
				for _, r := range rs {
					if r.doneAt.After(c.at) {
						c.at = r.doneAt
					}
				}
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			k := 0
			for _, r := range rs {
				if !r.done {
					k++
					if k <= 5 {
						r.recount(bufs[0]) // what it holds now, for the report
						fmt.Fprintf(&b, "\n  %s misses %d prefixes, e.g. %v", r.name, len(r.missing()), r.missing()[:min(3, len(r.missing()))])
					}
				}
			}
			return converged{}, fmt.Errorf("not converged after %v: %d of %d routers lack routes:%s", timeout, k, len(rs), b.String())
		}
		time.Sleep(pollInterval)
	}
}

// sweep checks rs with a few parallel pollers; a router whose table is
// complete is done (and no longer done if a later sweep finds it lacking).
func sweep(rs []*router, bufs [][]byte) error {
	ch := make(chan *router)
	errc := make(chan error, len(bufs))
	var wg sync.WaitGroup
	for _, buf := range bufs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range ch {
				ok, err := r.check(buf)
				if err != nil {
					errc <- err
					for range ch {
					}
					return
				}
				switch {
				case ok && !r.done:
					r.done, r.doneAt = true, time.Now()
				case !ok:
					r.done = false
				}
			}
		}()
	}
	for _, r := range rs {
		ch <- r
	}
	close(ch)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB reads VmHWM of pid, in MB (10^6 bytes).
func peakRSSMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("daemon status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return float64(kb) * 1024 / 1e6, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// processCPU is pid's user+system CPU time so far.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("daemon stat: %w", err)
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("daemon stat: %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("daemon stat: %q", b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("daemon stat: %w", err)
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// checkGone verifies that `lab down` left nothing: no namespace of the
// lab registered, no daemon, no state file or socket.
func (l *labRun) checkGone(m *topo.Lab) error {
	deadline := time.Now().Add(30 * time.Second)
	for alive(l.pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon %d still runs after lab down", l.pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var left []string
	for _, n := range m.Nodes() {
		p := filepath.Join("/run/netns", l.name+"-"+n.Name)
		if _, err := os.Lstat(p); err == nil {
			left = append(left, p)
		}
	}
	for _, p := range []string{l.statePath(), filepath.Join(l.runDir, l.name+".sock")} {
		if _, err := os.Lstat(p); err == nil {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("lab down left %d things behind, e.g. %v", len(left), left[:min(5, len(left))])
	}
	return nil
}

// cleanup removes whatever a failed iteration left: `lab down`, then the
// daemon killed if it still runs, then `lab clean` of the run directory
// (which only touches labs whose state file is there).
func (l *labRun) cleanup() {
	if _, err := os.Stat(l.statePath()); err != nil {
		return // nothing started, or lab down finished
	}
	ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
	defer cancel()
	if out, err := l.cmd(ctx, "down", l.name).CombinedOutput(); err != nil {
		l.b.Logf("cleanup: lab down %s: %v\n%s", l.name, err, out)
	}
	if pid, err := l.daemonPID(); err == nil && alive(pid) {
		// lab down gives up on a daemon that does not answer its ping in
		// time (a loaded machine): SIGTERM tears the lab down as well,
		// SIGKILL leaves it to lab clean.
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			syscall.Kill(pid, sig)
			for deadline := time.Now().Add(30 * time.Second); alive(pid) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if !alive(pid) {
				break
			}
		}
	}
	if out, err := l.cmd(ctx, "clean").CombinedOutput(); err != nil {
		l.b.Logf("cleanup: lab clean: %v\n%s", err, out)
	}
}
