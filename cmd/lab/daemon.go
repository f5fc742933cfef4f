package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"lab/cli/commands"
	"lab/control"
	"lab/daemons"
	"lab/exabgp"
	"lab/internal/profile"
	"lab/netemu"
	"lab/topo"
)

// daemonCommand is the hidden subcommand a detached daemon runs as.
const daemonCommand = "__daemon"

// daemonOpts are what `lab up` and `lab run` pass to the daemon.
type daemonOpts struct {
	file  string
	name  string
	owner int // tear down when this process dies (0: no owner)
	// progress receives the start-up story, one line at a time, then
	// "ready" or "error: ..." (the parent's readiness pipe, or stdout).
	progress io.Writer
	// watched: someone watches the progress on a terminal; start-up waits
	// for the sessions (progress.go).
	watched bool
}

// startDaemon starts the lab daemon as a child process in its own session
// (a Ctrl-C at the shell must not reach it), logging to the lab's log
// file, and waits until it reports ready or fails. Progress lines are
// shown on out (live on a terminal: progress.go).
func startDaemon(m *topo.Lab, file string, owner int, out io.Writer) error {
	view := newProgressView(out)
	defer view.done()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(runDir(), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(logPath(m.Name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	args := []string{daemonCommand, "--name", m.Name, "--ready-fd", "3"}
	if owner != 0 {
		args = append(args, "--owner", strconv.Itoa(owner))
	}
	if view.tty {
		args = append(args, "--progress")
	}
	args = append(args, file)
	cmd := exec.Command(exe, args...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return err
	}
	pw.Close()
	// The daemon is on its own from here: not our child to wait for.
	go cmd.Wait()

	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ready":
			return nil
		case strings.HasPrefix(line, "error: "):
			return exitError{code: 1, msg: strings.TrimPrefix(line, "error: ")}
		default:
			view.line(line)
		}
	}
	b, _ := os.ReadFile(logPath(m.Name))
	return fmt.Errorf("the lab daemon exited before it was ready; its log (%s):\n%s", logPath(m.Name), b)
}

// cmdDaemon is the daemon process: `lab __daemon --name N --ready-fd 3 [--owner PID] FILE`.
func cmdDaemon(args []string) error {
	var o daemonOpts
	var fdStr, ownerStr string
	fdStr, args, _ = flagValue(args, "--ready-fd")
	ownerStr, args, _ = flagValue(args, "--owner")
	o.name, args, _ = flagValue(args, "--name")
	o.watched, args = flagBool(args, "--progress")
	if len(args) != 1 {
		return errors.New("usage: lab __daemon --name NAME --ready-fd FD [--owner PID] [--progress] FILE")
	}
	o.file = args[0]
	o.progress = os.Stdout
	if fdStr != "" {
		fd, err := strconv.Atoi(fdStr)
		if err != nil {
			return err
		}
		o.progress = os.NewFile(uintptr(fd), "ready")
	}
	if ownerStr != "" {
		pid, err := strconv.Atoi(ownerStr)
		if err != nil {
			return err
		}
		o.owner = pid
	}
	return runDaemon(o)
}

// labDaemon is a running lab: the data plane, the speakers, the socket.
type labDaemon struct {
	model *topo.Lab
	net   *netemu.Lab
	env   *commands.Env
	start time.Time
	prog  *progressReporter // the start-up's progress (progress.go)

	stop     context.CancelFunc
	tornDown chan struct{} // closed when teardown is complete
	// apis run the routers' programs of ExaBGP's API (speakers.go).
	apis []*exabgp.Runner
	webs webServers // `lab web`'s servers (web.go)

	// infoJSON is the lab's description, encoded at the first request
	// for it: the lab does not change shape while it runs, and every `lab
	// cmd` asks for it. On a lab of a thousand nodes it is hundreds of
	// kilobytes, which a script's loop of waits would otherwise have built
	// and encoded again for every command.
	infoOnce sync.Once
	infoJSON []byte
	infoErr  error
}

// runDaemon builds the lab, serves its control socket and tears it down on
// SIGINT/SIGTERM, on `lab down`, or when its owner process dies.
func runDaemon(o daemonOpts) (err error) {
	fail := func(err error) error {
		fmt.Fprintf(o.progress, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return exitError{code: 1}
	}
	m, err := loadModel(o.file, o.name)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			fmt.Printf("*** %v: tearing down\n", s)
			cancel()
		case <-ctx.Done():
		}
	}()
	if o.owner != 0 {
		if err := watchOwner(ctx, o.owner, cancel); err != nil {
			return fail(err)
		}
	}

	// LAB_CPUPROFILE / LAB_HEAPPROFILE: profiles from here to the lab's
	// end (or SIGUSR1), for `make bench` and anyone chasing a slow lab.
	stopProfile := profile.Start()
	d := &labDaemon{model: m, start: time.Now(), stop: cancel, tornDown: make(chan struct{})}
	progress := func(format string, a ...any) {
		fmt.Fprintf(o.progress, format+"\n", a...)
		if o.progress != os.Stdout {
			fmt.Printf(format+"\n", a...)
		}
	}
	d.prog = newProgressReporter(o.progress, m)
	if err := raiseFileLimit(m); errors.Is(err, errFileLimit) {
		progress("*** warning: %v", err)
	} else if err != nil {
		return fail(err)
	}
	if err := d.build(ctx, progress); err != nil {
		return fail(err)
	}
	d.reportStartup(ctx, o.watched, progress)

	ln, err := listenControl(ctx, socketPath(m.Name))
	if err != nil {
		d.teardown(progress)
		return fail(err)
	}
	served := make(chan error, 1)
	go func() { served <- control.Serve(ctx, ln, control.HandlerFunc(d.serve)) }()

	progress("*** Lab %s is up (%.2fs): %s", m.Name, time.Since(d.start).Seconds(), d.summary())
	fmt.Fprintln(o.progress, "ready")
	if f, ok := o.progress.(*os.File); ok && f != os.Stdout {
		f.Close()
	}

	<-ctx.Done()
	d.stopWeb()
	stopProfile() // the heap as the lab ran, before teardown frees it
	d.teardown(func(format string, a ...any) { fmt.Printf(format+"\n", a...) })
	close(d.tornDown)
	<-served
	os.Remove(socketPath(m.Name))
	os.Remove(logPath(m.Name))
	return nil
}

// listenControl opens the control socket, trying again while the process
// is out of descriptors: a large lab's sessions, dialled from both ends
// at once as its speakers start, may hold every descriptor the process
// may open for a few seconds (BA2000 under a limit of 20,000), and the
// lab must not end for it. It gives up after a minute, or with ctx.
func listenControl(ctx context.Context, path string) (net.Listener, error) {
	deadline := time.Now().Add(time.Minute)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		ln, err := control.Listen(path)
		if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) || time.Now().After(deadline) {
			return ln, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, err
		}
	}
}

// loadModel reads and validates a topology, renamed when name is set.
func loadModel(file, name string) (*topo.Lab, error) {
	load := topo.Load
	if name != "" {
		load = func(file string) (*topo.Lab, error) { return topo.LoadAs(file, name) }
	}
	m, err := load(file)
	if err != nil {
		return nil, err
	}
	// What its FRR and BIRD routers cannot do is the file's mistake too.
	if err := daemons.Check(m); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *labDaemon) summary() string {
	m := d.model
	return fmt.Sprintf("%d routers, %d hosts, %d links, %d BGP sessions", len(m.Routers), len(m.Hosts), len(m.Links), len(m.Sessions))
}

// build creates the data plane, then the speakers.
func (d *labDaemon) build(ctx context.Context, progress func(string, ...any)) error {
	m := d.model
	progress("*** Creating lab %s from %s", m.Name, m.File)
	var rs, hs []string
	for _, r := range m.Routers {
		rs = append(rs, r.Name)
	}
	for _, h := range m.Hosts {
		hs = append(hs, h.Name)
	}
	progress("*** Adding routers:\n%s", wrap(rs))
	if len(hs) > 0 {
		progress("*** Adding hosts:\n%s", wrap(hs))
	}
	var ls []string
	for _, k := range m.Links {
		ls = append(ls, "("+k.A.Node.Name+", "+k.B.Node.Name+")")
	}
	progress("*** Adding links:\n%s", wrap(ls))
	if err := checkDaemons(m); err != nil {
		return err
	}
	t := time.Now()
	n, err := netemu.Build(ctx, m, netemu.Options{RunDir: runDir(), Socket: socketPath(m.Name), Progress: d.netemuProgress})
	if err != nil {
		return err
	}
	d.net = n
	progress("*** Data plane ready (%.2fs)", time.Since(t).Seconds())
	d.env = &commands.Env{Lab: m, Net: n, Routers: map[string]commands.Router{}, Daemons: map[string]*daemons.Router{}}
	if err := d.startDaemons(ctx, progress); err != nil {
		d.net.Close()
		return err
	}
	if err := d.startSpeakers(ctx, progress); err != nil {
		d.stopDaemons()
		d.net.Close()
		return err
	}
	return nil
}

// wrap joins names into lines of at most 100 characters, as Mininet lists
// nodes at start-up.
func wrap(names []string) string {
	var b strings.Builder
	col := 0
	for _, n := range names {
		if col > 0 && col+len(n)+1 > 100 {
			b.WriteString("\n")
			col = 0
		}
		if col > 0 {
			b.WriteString(" ")
			col++
		}
		b.WriteString(n)
		col += len(n)
	}
	return b.String()
}

// teardown stops the speakers, then removes the data plane.
func (d *labDaemon) teardown(progress func(string, ...any)) {
	t := time.Now()
	progress("*** Stopping lab %s", d.model.Name)
	d.stopSpeakers()
	d.stopDaemons()
	if d.net != nil {
		if err := d.net.Close(); err != nil {
			progress("*** teardown: %v", err)
		}
	}
	progress("*** Done (%.2fs)", time.Since(t).Seconds())
}

// serve answers one control request.
func (d *labDaemon) serve(ctx context.Context, req control.Request, out io.Writer) (any, error) {
	switch req.Op {
	case control.OpPing:
		return control.Hello{Lab: d.model.Name, PID: os.Getpid()}, nil
	case control.OpInfo:
		d.infoOnce.Do(func() { d.infoJSON, d.infoErr = json.Marshal(d.info()) })
		return json.RawMessage(d.infoJSON), d.infoErr
	case control.OpRun:
		if req.Terminal {
			ctx = commands.WithTerminal(ctx)
		}
		res, err := d.env.Run(ctx, req.Line, out, req.JSON)
		d.pokeWeb() // the command may have moved a link
		return res, err
	case control.OpWeb:
		return d.web(req)
	case control.OpDown:
		d.stop()
		<-d.tornDown
		return nil, nil
	}
	return nil, fmt.Errorf("unknown operation %q", req.Op)
}

func (d *labDaemon) info() *control.Info {
	m := d.model
	in := &control.Info{Name: m.Name, File: m.File, PID: os.Getpid()}
	for _, n := range m.Nodes() {
		ni := control.NodeInfo{Name: n.Name, Kind: n.Kind.String(), Namespace: n.Namespace, NSPath: d.net.NamespacePath(n.Name)}
		if r := n.Router(); r != nil {
			ni.External = r.External
			if rd := d.env.Daemons[r.Name]; rd != nil {
				ni.Daemon, ni.DaemonDir = r.Daemon.String(), rd.Dir
			}
		}
		for _, i := range n.Interfaces {
			var peers []string
			if i.Link != nil {
				if l := i.Link.LAN; l != nil && l.Iface == i {
					for _, k := range l.Links {
						peers = append(peers, k.Other(i).Name)
					}
				} else {
					peers = append(peers, i.Link.Other(i).Name)
				}
			}
			ni.Interfaces = append(ni.Interfaces, control.IfaceInfo{Name: i.Name, Addrs: i.Addrs, Peer: strings.Join(peers, ",")})
		}
		in.Nodes = append(in.Nodes, ni)
	}
	return in
}

// watchOwner cancels the lab when process pid exits, however it exits:
// a pidfd becomes readable when its process dies, SIGKILL included.
func watchOwner(ctx context.Context, pid int, cancel context.CancelFunc) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("watching owner process %d: %w", pid, err)
	}
	go func() {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for ctx.Err() == nil {
			n, err := unix.Poll(fds, 500)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
			if n > 0 {
				fmt.Printf("*** owner process %d is gone: tearing down\n", pid)
				cancel()
				return
			}
		}
	}()
	return nil
}
