package exabgp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"lab/netemu"
	"lab/speaker"
	"lab/speaker/wire"
)

// Receive says what a program reads on its standard input: ExaBGP's
// `neighbor-changes` and the message kinds of its `receive { }` block.
// Messages are received ones, parsed (ExaBGP's `parsed`; `packets` and
// `consolidate` are not offered).
type Receive struct {
	NeighborChanges bool
	Update          bool
	Notification    bool
	Open            bool
	Keepalive       bool
	Refresh         bool
}

// ReceiveWords are the words ParseReceive takes: ExaBGP's, with
// "updates" (the seed's spelling) for "update".
var ReceiveWords = []string{"parsed", "update", "updates", "neighbor-changes", "notification", "open", "keepalive", "refresh"}

// ParseReceive reads a program's `receive:` words. "parsed" is accepted
// and changes nothing: every message is sent parsed. (ExaBGP sends
// nothing for `update` without `parsed`, a trap this does not copy.)
func ParseReceive(words []string) (Receive, error) {
	var r Receive
	for _, w := range words {
		switch w {
		case "parsed":
		case "update", "updates":
			r.Update = true
		case "neighbor-changes":
			r.NeighborChanges = true
		case "notification":
			r.Notification = true
		case "open":
			r.Open = true
		case "keepalive":
			r.Keepalive = true
		case "refresh":
			r.Refresh = true
		case "packets", "consolidate", "operational":
			return r, fmt.Errorf("receive %q is ExaBGP's but not supported here (accepted: %s)", w, strings.Join(ReceiveWords, ", "))
		default:
			return r, fmt.Errorf("receive %q: unknown (accepted: %s)", w, strings.Join(ReceiveWords, ", "))
		}
	}
	return r, nil
}

// wants reports whether a program receiving r reads messages of type t.
func (r Receive) wants(t wire.Type) bool {
	switch t {
	case wire.TypeUpdate:
		return r.Update
	case wire.TypeNotification:
		return r.Notification
	case wire.TypeOpen:
		return r.Open
	case wire.TypeKeepalive:
		return r.Keepalive
	case wire.TypeRouteRefresh:
		return r.Refresh
	}
	return false
}

// Process is one program of a router's API, as ExaBGP's `process NAME {
// run ...; encoder ...; }` declares it.
type Process struct {
	Name string
	// Run is the program and its arguments (no shell).
	Run []string
	// Text selects ExaBGP's text encoder for what the program reads;
	// JSON otherwise.
	Text    bool
	Receive Receive
	// NoAck turns off the `done` or `error` answer to each command
	// (ExaBGP's exabgp.api.ack=false).
	NoAck bool
}

// Config is a router's programs and where they run.
type Config struct {
	Speaker *speaker.Speaker
	// Namespace is the path of the router's network namespace, which the
	// programs run in; "" runs them in the caller's.
	Namespace string
	Processes []Process
	// Dir is the programs' working directory; "" the caller's.
	Dir string
	// Env is added to the programs' environment.
	Env []string
	// Host is the "host" of the JSON messages: the router's name (ExaBGP
	// puts its machine's).
	Host string
	// Grace is how long a program has to exit after SIGTERM before it is
	// killed; default 2 s.
	Grace time.Duration
	// QueueLen is how many messages a program may leave unread before
	// more are dropped (and the loss logged); default 65536.
	QueueLen int
}

// Runner runs a router's programs: it starts them in the router's
// namespace, feeds them the speaker's messages and state changes, runs
// the commands they write, and stops them.
//
// Goroutines: per program, a writer owns its standard input (and its
// encoder), a reader runs the commands it writes, one logs its standard
// error, one waits for it to exit. The observer (the speaker's session
// goroutines) only queues. prev, the last state of each session, is the
// observer's, under mu.
type Runner struct {
	cfg      Config
	sp       *speaker.Speaker
	procs    []*proc
	ctx      context.Context
	cancel   context.CancelFunc
	stopping atomic.Bool

	mu   sync.Mutex
	prev []speaker.State
}

// item is one thing queued for a program's standard input.
type item struct {
	// An observation (a received message, a state change) with the state
	// event it makes ("connected", "up", "down": neighbor-changes).
	obs    *speaker.Observation
	state  string
	reason string
	// A line of an answer (done, error, what a show printed).
	line     string
	shutdown bool
}

// proc is one running program.
type proc struct {
	r   *Runner
	cfg Process
	enc Encoder // the writer's
	cmd *exec.Cmd

	stdin          *os.File
	stdout, stderr *os.File
	exited         chan struct{}
	waitErr        error

	mu      sync.Mutex // guards the fields below
	queue   []item
	queued  int // observations in queue
	lost    int // observations dropped since the last report
	closing bool
	wake    chan struct{}
	// drained is closed by the writer once closing and the queue is
	// written (or cannot be).
	drained chan struct{}
}

// New checks cfg and registers the runner as the speaker's observer: it
// must be called before the speaker's Start. The programs start with
// Start.
func New(cfg Config) (*Runner, error) {
	if cfg.Speaker == nil {
		return nil, errors.New("exabgp: no speaker")
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Second
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 1 << 16
	}
	r := &Runner{cfg: cfg, sp: cfg.Speaker, prev: make([]speaker.State, len(cfg.Speaker.Config().Peers))}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	seen := map[string]bool{}
	for _, pc := range cfg.Processes {
		if pc.Name == "" || len(pc.Run) == 0 || pc.Run[0] == "" {
			return nil, fmt.Errorf("exabgp: process %q: a name and a program to run are needed", pc.Name)
		}
		if seen[pc.Name] {
			return nil, fmt.Errorf("exabgp: process %q declared twice", pc.Name)
		}
		seen[pc.Name] = true
		p := &proc{r: r, cfg: pc, wake: make(chan struct{}, 1), drained: make(chan struct{}), exited: make(chan struct{}),
			enc: Encoder{Text: pc.Text, Host: cfg.Host, PID: os.Getpid(), PPID: os.Getppid()}}
		r.procs = append(r.procs, p)
	}
	// Only a runner with something to read observes the speaker: the
	// sessions then copy every message they receive for it.
	if slices.ContainsFunc(r.procs, func(p *proc) bool { return p.cfg.Receive != Receive{} }) {
		if err := r.sp.Observe(r.observe); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// logf writes to the speaker's log, where `show log` reads.
func (r *Runner) logf(format string, args ...any) { r.sp.Logf(format, args...) }

// Start starts every program. One that cannot be started is logged and
// reported in the error; the others run.
func (r *Runner) Start() error {
	var errs []error
	for _, p := range r.procs {
		if err := p.start(); err != nil {
			r.logf("process %s: cannot start %s: %v", p.cfg.Name, strings.Join(p.cfg.Run, " "), err)
			errs = append(errs, fmt.Errorf("process %s: %w", p.cfg.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *proc) start() error {
	var cmd *exec.Cmd
	if ns := p.r.cfg.Namespace; ns != "" {
		cmd = netemu.Command(ns, p.cfg.Run[0], p.cfg.Run[1:]...)
	} else {
		cmd = exec.Command(p.cfg.Run[0], p.cfg.Run[1:]...)
	}
	cmd.Dir = p.r.cfg.Dir
	cmd.Env = append(os.Environ(), p.r.cfg.Env...)
	// Its own process group, so that stopping it ends its children too.
	// No Pdeathsig: it fires when the forking OS thread exits, which the
	// Go runtime does to threads namespace-locked goroutines leave; a
	// daemon that dies leaves its programs to `lab clean`, which ends
	// every process in the lab's namespaces.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Pipes of our own (not exec's copying goroutines): Wait then does
	// not wait for a grandchild that keeps one open.
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return err
	}
	p.cmd, p.stdin, p.stdout, p.stderr = cmd, inW, outR, errR
	p.r.logf("process %s: started %s (pid %d)", p.cfg.Name, strings.Join(p.cfg.Run, " "), cmd.Process.Pid)
	go p.write()
	go p.readCommands()
	go p.readErrors()
	go p.wait()
	return nil
}

// observe is the speaker's observer: it queues, for every program that
// reads it, a message received or the state event a state change makes.
func (r *Runner) observe(o speaker.Observation) {
	if o.IsMessage() {
		if o.Dir != speaker.Received {
			return
		}
		t := o.Type()
		for _, p := range r.procs {
			if p.cfg.Receive.wants(t) {
				p.push(item{obs: &o})
			}
		}
		return
	}
	r.mu.Lock()
	prev := r.prev[o.PeerIndex]
	r.prev[o.PeerIndex] = o.State
	r.mu.Unlock()
	var state, reason string
	switch {
	case o.State == speaker.OpenSent && prev < speaker.OpenSent:
		state = "connected"
	case o.State == speaker.Established:
		state = "up"
	case o.State < speaker.OpenSent && prev >= speaker.OpenSent:
		state, reason = "down", DownReason(o.Reset)
	default:
		return
	}
	for _, p := range r.procs {
		if p.cfg.Receive.NeighborChanges {
			p.push(item{obs: &o, state: state, reason: reason})
		}
	}
}

// push queues it for the program's standard input. It never blocks:
// observations beyond the queue's length are dropped and counted (ExaBGP
// would stop everything until the program reads).
func (p *proc) push(it item) {
	p.mu.Lock()
	switch {
	case p.closing:
	case it.obs != nil && p.queued >= p.r.cfg.QueueLen:
		p.lost++
	default:
		if it.obs != nil {
			p.queued++
		}
		p.queue = append(p.queue, it)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// answer queues a line of an answer.
func (p *proc) answer(line string) { p.push(item{line: line}) }

// write is the program's writer goroutine: it renders what is queued and
// writes it to the program's standard input, until the runner stops it.
func (p *proc) write() {
	defer close(p.drained)
	defer p.stdin.Close()
	w := bufio.NewWriter(p.stdin)
	broken := false
	for {
		p.mu.Lock()
		q, lost, closing := p.queue, p.lost, p.closing
		p.queue, p.queued, p.lost = nil, 0, 0
		p.mu.Unlock()
		if lost > 0 {
			p.r.logf("process %s: %d messages lost: the program did not read its input (%d were waiting)", p.cfg.Name, lost, p.r.cfg.QueueLen)
		}
		for _, it := range q {
			if broken {
				break
			}
			if s := p.render(it); s != "" {
				if _, err := w.WriteString(s + "\n"); err != nil {
					broken = true
				}
			}
		}
		if !broken && w.Flush() != nil {
			broken = true
		}
		if closing && len(q) == 0 {
			return
		}
		if len(q) > 0 {
			continue // look again before sleeping
		}
		<-p.wake
	}
}

// render encodes a queued item; "" for nothing.
func (p *proc) render(it item) string {
	if it.shutdown {
		return p.enc.Shutdown(time.Now(), os.Getpid(), os.Getppid())
	}
	if it.obs == nil {
		return it.line
	}
	o := it.obs
	n := Neighbor{Local: o.Local, Peer: o.Peer, LocalAS: o.LocalAS, PeerAS: o.PeerAS}
	if it.state != "" {
		return p.enc.State(o.Time, n, it.state, it.reason)
	}
	m, err := o.Message()
	if m == nil {
		p.r.logf("process %s: a %v from %v could not be decoded for it: %v", p.cfg.Name, o.Type(), o.Peer, err)
		return ""
	}
	// The text encoder's messages (and state changes, above) end with a
	// newline, and ExaBGP writes one more: the program reads an empty line
	// after each.
	return p.enc.Message(o.Time, n, "receive", m)
}

// commandTimeout bounds one command's run (a show of a large table).
const commandTimeout = time.Minute

// readCommands is the program's reader goroutine: every line it writes
// is a command, run in order and answered.
func (p *proc) readCommands() {
	sc := bufio.NewScanner(p.stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		err := p.run(line)
		if err != nil {
			p.r.logf("process %s: %s: %v", p.cfg.Name, line, err)
		}
		if p.cfg.NoAck {
			continue
		}
		if err != nil {
			p.answer("error")
		} else {
			p.answer("done")
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		p.r.logf("process %s: reading its output: %v", p.cfg.Name, err)
	}
}

func (p *proc) run(line string) error {
	c, err := ParseCommand(line)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(p.r.ctx, commandTimeout)
	defer cancel()
	return c.Run(ctx, p.r.sp, p.answer)
}

// readErrors logs what the program writes to its standard error.
func (p *proc) readErrors() {
	sc := bufio.NewScanner(p.stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		p.r.logf("process %s: %s", p.cfg.Name, sc.Text())
	}
}

// wait waits for the program to exit and logs how it did. A program that
// exits while the router runs is reported once and not started again.
func (p *proc) wait() {
	err := p.cmd.Wait()
	p.waitErr = err
	close(p.exited)
	// Nothing more is queued for it; the writer writes what is (into a
	// closed pipe) and ends.
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	status := "exit status 0"
	if err != nil {
		status = err.Error()
	}
	if p.r.stopping.Load() {
		p.r.logf("process %s: stopped (%s)", p.cfg.Name, status)
		return
	}
	p.r.logf("process %s: exited (%s) and is not restarted", p.cfg.Name, status)
}

// ExitErr returns how the program named name exited (nil for status 0)
// and whether it did.
func (r *Runner) ExitErr(name string) (exited bool, err error) {
	for _, p := range r.procs {
		if p.cfg.Name != name || p.cmd == nil {
			continue
		}
		select {
		case <-p.exited:
			return true, p.waitErr
		default:
			return false, nil
		}
	}
	return false, nil
}

// Close stops every program as ExaBGP does: each reads a last shutdown
// notice, its standard input closes, and it gets SIGTERM, then SIGKILL
// after the grace period. It returns once all have exited.
func (r *Runner) Close() error {
	if r.stopping.Swap(true) {
		return nil
	}
	defer r.cancel()
	for _, p := range r.procs {
		if p.cmd == nil {
			continue
		}
		p.push(item{shutdown: true})
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range r.procs {
		if p.cmd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.stop(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// endOfInputWait is how long a program has to exit by itself once its
// input is closed (most do, on the end of their input) before SIGTERM:
// ExaBGP gives 100 ms.
const endOfInputWait = 250 * time.Millisecond

// stop ends the program: its input written and closed (or 500 ms), then,
// unless it exits by itself, SIGTERM to its group, SIGKILL after the grace
// period.
func (p *proc) stop() error {
	select {
	case <-p.drained:
	case <-p.exited:
	case <-time.After(500 * time.Millisecond):
		// A program that does not read: its input is closed under the
		// writer, which then ends.
		p.stdin.Close()
	}
	pid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	case <-time.After(endOfInputWait):
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(p.r.cfg.Grace):
			syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				return fmt.Errorf("process %s (pid %d) survived SIGKILL", p.cfg.Name, pid)
			}
		}
	}
	// Its children are gone with its group: the readers see the end of
	// their pipes; a child that left the group must not keep them.
	time.AfterFunc(time.Second, func() {
		p.stdout.Close()
		p.stderr.Close()
	})
	// The writer may wait for a wake-up that never comes.
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// Names returns the programs' names, in configuration order.
func (r *Runner) Names() []string {
	var out []string
	for _, p := range r.procs {
		out = append(out, p.cfg.Name)
	}
	return slices.Clip(out)
}

var _ io.Closer = (*Runner)(nil)
