package daemons

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"lab/netemu"
	"lab/topo"
)

// Programs the lab runs and asks. FRR's daemons are not on PATH.
const (
	frrZebra = "/usr/lib/frr/zebra"
	frrBgpd  = "/usr/lib/frr/bgpd"
	vtysh    = "vtysh"
	bird     = "bird"
	birdc    = "birdc"
)

// Timeouts: how long a daemon may take to answer on its control socket
// after it starts, to exit after SIGTERM, and a CLI command to answer.
const (
	startTimeout = 30 * time.Second
	stopGrace    = 5 * time.Second
	cliTimeout   = 30 * time.Second
)

// maxSocketPath is the longest path a unix socket may have (sun_path).
const maxSocketPath = 107

// Router is the daemons the lab runs for one router (FRR's zebra and
// bgpd, or BIRD), in the router's namespace, with their files in Dir.
// Stop ends them. Its methods are safe for concurrent use: the fields are
// set by Start and only read afterwards; each process's exit is recorded
// by the goroutine that waits for it.
type Router struct {
	// Name is the router's name, Daemon what runs for it.
	Name   string
	Daemon topo.Daemon
	// Dir holds the configuration, the control sockets, the pid files and
	// the logs.
	Dir   string
	procs []*process // in start order

	// mu guards conf, the configuration the daemon runs (bgpd's or
	// BIRD's), which Reload replaces.
	mu   sync.Mutex
	conf string

	stopOnce sync.Once
	stopErr  error
}

// process is one daemon process.
type process struct {
	name string
	cmd  *exec.Cmd
	out  string        // its standard output and error
	done chan struct{} // closed once it has exited
	err  error         // why it exited; set before done is closed
}

// requirements returns the programs a daemon needs.
func requirements(d topo.Daemon) []string {
	switch d {
	case topo.DaemonFRR:
		return []string{frrZebra, frrBgpd, vtysh}
	case topo.DaemonBIRD:
		return []string{bird, birdc}
	}
	return nil
}

// Installed returns an error naming the Debian package to install when
// a program daemon d needs is missing, so that a lab says so before it
// builds anything.
func Installed(d topo.Daemon) error {
	for _, p := range requirements(d) {
		if _, err := exec.LookPath(p); err != nil {
			pkg := map[topo.Daemon]string{topo.DaemonFRR: "frr", topo.DaemonBIRD: "bird2"}[d]
			return fmt.Errorf("kind: %s needs %s, which is not installed (apt-get install %s)", d, p, pkg)
		}
	}
	return nil
}

// Start writes the configuration of router r of lab l (FRR or BIRD, as
// r.Daemon says) into dir, which it creates, starts the daemons inside
// the namespace registered at nsPath, and returns once they answer on
// their control sockets (or ctx ends, or they fail). The daemons run in
// process groups of their own, so that a Ctrl-C meant for the lab does
// not reach them; the lab stops them with Stop, and netemu ends whatever
// runs in a lab's namespaces when the lab goes, crashed or not.
func Start(ctx context.Context, l *topo.Lab, r *topo.Router, nsPath, dir string) (*Router, error) {
	if err := Installed(r.Daemon); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	// The daemons run as root and read their files, nothing else does.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	// The longest socket path of either daemon.
	if p := filepath.Join(dir, "zserv.api"); len(p) > maxSocketPath {
		return nil, fmt.Errorf("%s: the router's directory %s is too long for its daemons' sockets (%d bytes at most): set LAB_RUN_DIR to a shorter directory", r.Name, dir, maxSocketPath-len("/zserv.api"))
	}
	d := &Router{Name: r.Name, Daemon: r.Daemon, Dir: dir}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var err error
	switch r.Daemon {
	case topo.DaemonFRR:
		err = d.startFRR(ctx, l, r, nsPath)
	case topo.DaemonBIRD:
		err = d.startBIRD(ctx, l, r, nsPath)
	default:
		err = fmt.Errorf("%s runs no daemon of the lab's", r.Name)
	}
	if err != nil {
		d.Stop()
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	return d, nil
}

func (d *Router) startFRR(ctx context.Context, l *topo.Lab, r *topo.Router, nsPath string) error {
	conf, err := FRRConfig(l, r, filepath.Join(d.Dir, "bgpd.log"))
	if err != nil {
		return err
	}
	d.conf = conf
	bgpConf, zebraConf := filepath.Join(d.Dir, "bgpd.conf"), filepath.Join(d.Dir, "zebra.conf")
	if err := os.WriteFile(bgpConf, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(zebraConf, []byte(zebraConfig(r, filepath.Join(d.Dir, "zebra.log"))), 0o644); err != nil {
		return err
	}
	zserv := filepath.Join(d.Dir, "zserv.api")
	// FRR's daemons refuse to start unless their user is in the group
	// that owns the vty sockets (frrvty on Debian), which root is not:
	// root with that group passes the check and keeps its privileges.
	common := []string{"-u", "root", "-g", frrGroup(), "--vty_socket", d.Dir, "-z", zserv, "-P", "0"}
	zebra, err := d.start(nsPath, "zebra", frrZebra, append(common, "-f", zebraConf, "-i", filepath.Join(d.Dir, "zebra.pid"))...)
	if err != nil {
		return err
	}
	// bgpd connects to zebra's socket: start it once the socket exists.
	if err := d.await(ctx, zebra, "zebra's socket", func() error {
		_, err := os.Stat(zserv)
		return err
	}); err != nil {
		return err
	}
	bgpd, err := d.start(nsPath, "bgpd", frrBgpd, append(common, "-f", bgpConf, "-i", filepath.Join(d.Dir, "bgpd.pid"))...)
	if err != nil {
		return err
	}
	return d.await(ctx, bgpd, "bgpd's vty", func() error {
		_, err := d.Run(ctx, "show bgp summary json")
		return err
	})
}

func (d *Router) startBIRD(ctx context.Context, l *topo.Lab, r *topo.Router, nsPath string) error {
	conf, err := BIRDConfig(l, r, filepath.Join(d.Dir, "bird.log"))
	if err != nil {
		return err
	}
	d.conf = conf
	file := filepath.Join(d.Dir, "bird.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return err
	}
	p, err := d.start(nsPath, "bird", bird, "-f", "-c", file, "-s", d.socket(), "-P", filepath.Join(d.Dir, "bird.pid"))
	if err != nil {
		return err
	}
	return d.await(ctx, p, "BIRD's control socket", func() error {
		_, err := d.Run(ctx, "show status")
		return err
	})
}

// socket is BIRD's control socket.
func (d *Router) socket() string { return filepath.Join(d.Dir, "bird.ctl") }

// frrGroup is the group FRR's daemons run as (see startFRR).
func frrGroup() string {
	if _, err := user.LookupGroup("frrvty"); err == nil {
		return "frrvty"
	}
	return "root"
}

// start starts one daemon in the namespace, its output to <name>.out.
func (d *Router) start(nsPath, name, prog string, args ...string) (*process, error) {
	out := filepath.Join(d.Dir, name+".out")
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := netemu.Command(nsPath, prog, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = d.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	d.procs = append(d.procs, p)
	return p, nil
}

// await polls ready until it succeeds; it fails when p exits first or
// ctx ends, with the end of p's output and log.
func (d *Router) await(ctx context.Context, p *process, what string, ready func() error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before %s was ready (%v):\n%s", p.name, what, p.err, d.tail(p.name, 20))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (%v):\n%s", what, ctx.Err(), err, d.tail(p.name, 20))
		case <-tick.C:
		}
	}
}

// tail returns the last lines of a daemon's output and of its log.
func (d *Router) tail(name string, n int) string {
	var b strings.Builder
	for _, f := range []string{name + ".out", name + ".log"} {
		data, err := os.ReadFile(filepath.Join(d.Dir, f))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "  %s:\n    %s\n", f, strings.Join(lines, "\n    "))
	}
	return b.String()
}

// Exited returns an error naming the daemons that are not running any
// more, or nil.
func (d *Router) Exited() error {
	var errs []error
	for _, p := range d.procs {
		select {
		case <-p.done:
			errs = append(errs, fmt.Errorf("%s: %s exited: %v", d.Name, p.name, p.err))
		default:
		}
	}
	return errors.Join(errs...)
}

// CLI returns the daemon's command-line tool with the flags that reach
// this router's daemons: vtysh with its vty socket directory, birdc with
// its control socket.
func (d *Router) CLI() []string {
	if d.Daemon == topo.DaemonBIRD {
		return []string{birdc, "-s", d.socket()}
	}
	return []string{vtysh, "--vty_socket", d.Dir}
}

// CLIArgs returns the flags that make the daemon's tool prog (vtysh or
// birdc) reach the daemons of a router of kind ("frr" or "bird", as
// topo.Daemon's String) whose directory is dir; nil for another program.
func CLIArgs(kind, dir, prog string) []string {
	d := &Router{Daemon: topo.DaemonFRR, Dir: dir}
	if kind == topo.DaemonBIRD.String() {
		d.Daemon = topo.DaemonBIRD
	}
	cli := d.CLI()
	if filepath.Base(prog) != cli[0] {
		return nil
	}
	return cli[1:]
}

// Run runs one command through the daemon's tool (`vtysh -c LINE`,
// `birdc LINE`) and returns its output. vtysh reports a bad command on
// its output with a status of 0, which Run turns into an error.
func (d *Router) Run(ctx context.Context, line string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	cli := d.CLI()
	args := cli[1:]
	if d.Daemon == topo.DaemonBIRD {
		args = append(args, strings.Fields(line)...)
	} else {
		args = append(args, "-c", line)
	}
	cmd := exec.CommandContext(ctx, cli[0], args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	text := out.String()
	if err != nil {
		return text, fmt.Errorf("%s %s: %w: %s%s", cli[0], line, err, errb.String(), text)
	}
	if d.Daemon == topo.DaemonFRR && strings.HasPrefix(strings.TrimSpace(text), "% ") {
		return text, errors.New(strings.TrimSpace(text))
	}
	if d.Daemon == topo.DaemonBIRD {
		// birdc greets first ("BIRD 2.0.12 ready."): not the answer.
		if i := strings.IndexByte(text, '\n'); i >= 0 && strings.HasPrefix(text, "BIRD ") && strings.HasSuffix(text[:i], " ready.") {
			text = text[i+1:]
		}
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return text, nil
}

// Stop ends the daemons, the last started first: SIGTERM (they close
// their sessions with a Cease and remove their routes, sockets and pid
// files), then SIGKILL after a grace period. FRR's crash-log directories
// (/var/tmp/frr/<daemon>.<pid>) go too. Calling it again returns the
// first call's result. The directory is the caller's to remove.
func (d *Router) Stop() error {
	d.stopOnce.Do(func() {
		var errs []error
		for i := len(d.procs) - 1; i >= 0; i-- {
			p := d.procs[i]
			pid := p.cmd.Process.Pid
			select {
			case <-p.done:
			default:
				p.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-p.done:
				case <-time.After(stopGrace):
					p.cmd.Process.Kill()
					<-p.done
					errs = append(errs, fmt.Errorf("%s: %s did not exit within %v of SIGTERM: killed", d.Name, p.name, stopGrace))
				}
			}
			if d.Daemon == topo.DaemonFRR {
				os.RemoveAll(fmt.Sprintf("/var/tmp/frr/%s.%d", p.name, pid))
			}
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}

// Sessions returns the state of the router's BGP sessions by neighbour
// address, in the daemon's words ("Established", "Active", ...): FRR's
// `show bgp summary json`, BIRD's `show protocols all`.
func (d *Router) Sessions(ctx context.Context) (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	if d.Daemon == topo.DaemonFRR {
		text, err := d.Run(ctx, "show bgp summary json")
		if err != nil {
			return nil, err
		}
		var sum map[string]struct {
			Peers map[string]struct {
				State string `json:"state"`
			} `json:"peers"`
		}
		if err := json.Unmarshal([]byte(text), &sum); err != nil {
			return nil, fmt.Errorf("%s: show bgp summary json: %w", d.Name, err)
		}
		for _, fam := range sum {
			for a, p := range fam.Peers {
				if addr, err := netip.ParseAddr(a); err == nil {
					out[addr] = p.State
				}
			}
		}
		return out, nil
	}
	text, err := d.Run(ctx, "show protocols all")
	if err != nil {
		return nil, err
	}
	// Each BGP protocol's block has "BGP state:" and "Neighbor address:".
	var state string
	for line := range strings.SplitSeq(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case !strings.HasPrefix(line, " ") && line != "":
			state = "" // a protocol's first line
		case !ok:
		case k == "BGP state":
			state = strings.TrimSpace(v)
		case k == "Neighbor address":
			if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				out[a] = state
			}
		}
	}
	return out, nil
}

// NewConfig returns the configuration the daemon would run for router r
// of lab l (a changed topology of the same nodes), and whether it differs
// from the one it runs.
func (d *Router) NewConfig(l *topo.Lab, r *topo.Router) (conf string, changed bool, err error) {
	if d.Daemon == topo.DaemonBIRD {
		conf, err = BIRDConfig(l, r, filepath.Join(d.Dir, "bird.log"))
	} else {
		conf, err = FRRConfig(l, r, filepath.Join(d.Dir, "bgpd.log"))
	}
	if err != nil {
		return "", false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return conf, conf != d.conf, nil
}

// CanReload reports whether the daemon takes a new configuration while
// it runs: BIRD does (`birdc configure`), FRR's bgpd does not here (a
// configuration file cannot be swapped for another through vtysh).
func (d *Router) CanReload() bool { return d.Daemon == topo.DaemonBIRD }

// Reload makes BIRD run conf (from NewConfig): it writes the file and
// asks BIRD to read it, which restarts the protocols whose configuration
// changed and runs the changed filters over the routes again.
func (d *Router) Reload(ctx context.Context, conf string) error {
	if !d.CanReload() {
		return fmt.Errorf("%s: %s cannot take a new configuration while it runs", d.Name, d.Daemon.Name())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.WriteFile(filepath.Join(d.Dir, "bird.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	out, err := d.Run(ctx, "configure")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "Reconfigured") && !strings.Contains(out, "Reconfiguration in progress") {
		return fmt.Errorf("%s: birdc configure: %s", d.Name, strings.TrimSpace(out))
	}
	d.conf = conf
	return nil
}
