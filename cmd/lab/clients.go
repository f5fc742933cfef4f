package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"lab/cli/shell"
	"lab/control"
	"lab/daemons"
	"lab/netemu"
	"lab/topo"
)

// cmdRun is the Mininet experience: build, shell, tear down when the shell
// exits — or dies: the daemon watches the shell's process.
func cmdRun(args []string) error {
	quiet, args := flagBool(args, "-q", "--quiet")
	m, file, err := labToStart("run", "[-q]", args)
	if err != nil {
		return err
	}
	if err := startDaemon(m, file, os.Getpid(), os.Stdout); err != nil {
		return err
	}
	sock := socketPath(m.Name)
	down := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		fmt.Printf("*** Stopping lab %s\n", m.Name)
		t := time.Now()
		if _, err := control.Do(ctx, sock, control.Request{Op: control.OpDown}, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "*** stopping lab %s: %v\n", m.Name, err)
			return
		}
		fmt.Printf("*** Done (%.2fs)\n", time.Since(t).Seconds())
	}
	info, err := control.GetInfo(context.Background(), sock)
	if err != nil {
		down()
		return err
	}
	interactive := term.IsTerminal(int(os.Stdin.Fd()))
	sh := &shell.Shell{
		Info: info, Socket: sock,
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Echo:        !quiet && !interactive,
		HistoryFile: historyFile(),
		Terminate: func(os.Signal) {
			down()
			os.Exit(0)
		},
	}
	if !quiet {
		fmt.Println("*** Starting CLI: `help` lists the commands, `exit` leaves and tears the lab down")
	}
	// Without a terminal, SIGTERM and SIGHUP would kill the shell at once;
	// the daemon would still tear down (it watches us), but tearing down
	// here first lets a script see the lab gone when we exit.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !interactive {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			<-sigs
			down()
			os.Exit(143)
		}()
	}
	runErr := sh.Run(ctx)
	down()
	if runErr != nil {
		return runErr
	}
	if !interactive && sh.Failed() {
		return exitError{code: 1, msg: "*** some commands failed"}
	}
	return nil
}

func historyFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".lab_history")
}

// labToStart parses `[--name NAME] FILE` for run and up (their own flags
// removed already), checks root, loads and validates the topology, and
// refuses a name a running lab has.
func labToStart(cmd, flags string, args []string) (*topo.Lab, string, error) {
	name, args, _ := flagValue(args, "--name")
	if len(args) != 1 {
		return nil, "", fmt.Errorf("usage: lab %s [--name NAME] %s FILE", cmd, flags)
	}
	if err := needRoot(cmd); err != nil {
		return nil, "", err
	}
	m, err := loadModel(args[0], name)
	if err != nil {
		return nil, "", topoError(err)
	}
	if err := checkNotRunning(m.Name); err != nil {
		return nil, "", err
	}
	return m, args[0], nil
}

// checkNotRunning refuses to start a lab whose name a running lab has.
func checkNotRunning(name string) error {
	st, found, err := labState(name)
	if err != nil {
		return err
	}
	if (found && st.Alive) || control.Alive(context.Background(), socketPath(name)) {
		return fmt.Errorf("a lab called %s is already running: `lab down %s` stops it, or give this one another name with --name", name, name)
	}
	return nil
}

// cmdUp starts a lab daemon, in the foreground or detached (-d).
func cmdUp(args []string) error {
	detach, args := flagBool(args, "-d", "--detach")
	m, file, err := labToStart("up", "[-d]", args)
	if err != nil {
		return err
	}
	if detach {
		if err := startDaemon(m, file, 0, os.Stdout); err != nil {
			return err
		}
		fmt.Printf("*** lab %s runs in the background: `lab shell %s` opens a shell, `lab down %s` stops it\n", m.Name, m.Name, m.Name)
		return nil
	}
	// Everything the daemon prints goes through a progress view: the
	// progress drawn in place on a terminal, and only its summary line
	// elsewhere.
	watched := newProgressView(os.Stdout).tty
	restore, err := viewStdout()
	if err != nil {
		return err
	}
	defer restore()
	return runDaemon(daemonOpts{file: file, name: m.Name, progress: os.Stdout, watched: watched})
}

// cmdDown stops a lab and waits until everything it made is gone. A busy
// daemon may take seconds to answer; it is asked on its socket and waited
// for, never taken for dead. A daemon that cannot be reached there is
// sent SIGTERM; a dead one's leftovers are cleaned.
func cmdDown(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: lab down NAME")
	}
	if err := needRoot("down"); err != nil {
		return err
	}
	name := args[0]
	st, found, err := labState(name)
	if err != nil {
		return err
	}
	t := time.Now()
	_, err = control.Do(context.Background(), socketPath(name), control.Request{Op: control.OpDown}, os.Stdout)
	switch {
	case err == nil:
	case !errors.Is(err, control.ErrNotRunning):
		return err
	case !found:
		return fmt.Errorf("no lab called %s (lab ls lists them)", name)
	case st.Alive:
		fmt.Printf("*** lab %s's daemon (pid %d) does not answer on its socket: sending SIGTERM\n", name, st.PID)
		if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil {
			return err
		}
		if err := waitGone(name, 2*time.Minute); err != nil {
			return err
		}
	default:
		fmt.Printf("*** lab %s's daemon is gone: cleaning what it left\n", name)
		return cleanAndReport()
	}
	fmt.Printf("*** Stopped lab %s (%.2fs)\n", name, time.Since(t).Seconds())
	return nil
}

// labState returns the state file of the lab called name, if any.
func labState(name string) (netemu.State, bool, error) {
	sts, err := netemu.ReadStates(runDir())
	if err != nil {
		return netemu.State{}, false, err
	}
	for _, s := range sts {
		if s.Name == name && s.Kind == "" {
			return s, true, nil
		}
	}
	return netemu.State{}, false, nil
}

// waitGone waits until the lab's daemon is dead and its state file gone.
func waitGone(name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		st, found, err := labState(name)
		if err != nil {
			return err
		}
		if !found || !st.Alive {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s's daemon (pid %d) still runs after %v", name, st.PID, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cmdLs(args []string) error {
	if len(args) != 0 {
		return errors.New("usage: lab ls")
	}
	sts, err := netemu.ReadStates(runDir())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tSTATE\tNODES\tTOPOLOGY")
	for _, s := range sts {
		if s.Kind != "" {
			continue // a test run's state file: `lab clean` knows it
		}
		// The daemon's pid (checked against its start time), not a ping
		// of its socket: a busy daemon may take seconds to answer.
		state := "running"
		if !s.Alive {
			state = "dead (lab clean removes it)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", s.Name, s.PID, state, len(s.Namespaces), s.File)
	}
	return tw.Flush()
}

func attach(name string) (*control.Info, error) {
	if err := needRoot("shell"); err != nil {
		return nil, err
	}
	info, err := control.GetInfo(context.Background(), socketPath(name))
	if errors.Is(err, control.ErrNotRunning) {
		return nil, fmt.Errorf("no running lab called %s (lab ls lists them)", name)
	}
	return info, err
}

func cmdShell(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: lab shell NAME")
	}
	info, err := attach(args[0])
	if err != nil {
		return err
	}
	sh := &shell.Shell{Info: info, Socket: socketPath(args[0]), In: os.Stdin, Out: os.Stdout, Err: os.Stderr, HistoryFile: historyFile()}
	return sh.Run(context.Background())
}

// cmdApply is `lab apply NAME FILE`: the shell's `apply FILE` on a
// running lab.
func cmdApply(args []string) error {
	asJSON, args := flagBool(args, "--json", "-j")
	if len(args) != 2 {
		return errors.New("usage: lab apply [--json] NAME FILE")
	}
	line := "apply " + args[1]
	if asJSON {
		return cmdCmd([]string{"--json", args[0], line})
	}
	return cmdCmd([]string{args[0], line})
}

// cmdCmd runs shell command lines on a running lab, for scripts: the exit
// status is 1 when any fails; --json prints each command's JSON result on
// its own line.
func cmdCmd(args []string) error {
	asJSON, args := flagBool(args, "--json", "-j")
	if len(args) < 2 {
		return errors.New("usage: lab cmd [--json] NAME LINE [LINE ...]")
	}
	info, err := attach(args[0])
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	sh := &shell.Shell{Info: info, Socket: socketPath(args[0]), In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	failed := false
	for _, line := range args[1:] {
		ok, res, err := sh.Exec(ctx, line, asJSON)
		if errors.Is(err, shell.ErrExit) {
			break
		}
		if err != nil && err.Error() != "" {
			fmt.Fprintf(os.Stderr, "*** %s: %v\n", line, err)
		}
		if asJSON {
			if len(res) == 0 {
				res = json.RawMessage("null")
			}
			os.Stdout.Write(append(res, '\n'))
		}
		if !ok || err != nil {
			failed = true
		}
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}

// cmdExec runs a program inside a node, attached to our terminal, and
// exits with its status.
func cmdExec(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: lab exec NAME NODE [--] CMD [ARGS...]")
	}
	name, node, rest := args[0], args[1], args[2:]
	if rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return errors.New("usage: lab exec NAME NODE [--] CMD [ARGS...]")
	}
	info, err := attach(name)
	if err != nil {
		return err
	}
	n := info.Node(node)
	if n == nil {
		return fmt.Errorf("lab %s has no node %q", name, node)
	}
	if n.Daemon != "" {
		// vtysh and birdc find the node's daemons by their sockets, which
		// are the lab's.
		rest = append(append([]string{rest[0]}, daemons.CLIArgs(n.Daemon, n.DaemonDir, rest[0])...), rest[1:]...)
	}
	cmd := netemu.Command(n.NSPath, rest[0], rest[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "LAB_NODE="+node, "LAB_NAME="+name)
	signal.Ignore(os.Interrupt) // the program gets the Ctrl-C, we wait for it
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitError{code: ee.ExitCode()}
	}
	return err
}

func cmdValidate(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: lab validate FILE [FILE ...]")
	}
	bad := false
	for _, f := range args {
		// A topology file, or an exercise file naming one.
		x, err := topo.LoadExercise(f)
		if err == nil {
			// What its FRR and BIRD routers cannot do is the file's mistake too.
			err = daemons.Check(x.Lab)
		}
		if err != nil {
			topo.WriteErrors(os.Stderr, err)
			bad = true
			continue
		}
		m := x.Lab
		tests := ""
		if n := len(x.Tests); n > 0 {
			tests = fmt.Sprintf(", %d tests", n)
		}
		if x.Topology != x.File {
			tests += " (topology " + x.Topology + ")"
		}
		fmt.Printf("%s: ok: lab %s, %d ASes, %d routers, %d hosts, %d links, %d BGP sessions%s\n",
			f, m.Name, len(m.ASes), len(m.Routers), len(m.Hosts), len(m.Links), len(m.Sessions), tests)
	}
	if bad {
		return exitError{code: 1}
	}
	return nil
}

func cmdGenerate(args []string) error {
	const usage = "usage: lab generate ba -n N [-m M] [--seed S] [--relations] [-o FILE]"
	if len(args) == 0 || args[0] != "ba" {
		return errors.New(usage)
	}
	args = args[1:]
	nStr, args, okN := flagValue(args, "-n")
	mStr, args, _ := flagValue(args, "-m")
	seedStr, args, _ := flagValue(args, "--seed", "-seed")
	out, args, _ := flagValue(args, "-o")
	relations, args := flagBool(args, "--relations", "-relations")
	if !okN || len(args) != 0 {
		return errors.New(usage)
	}
	n, err := strconv.Atoi(nStr)
	if err != nil {
		return fmt.Errorf("-n %q: not a number", nStr)
	}
	mm := 2
	if mStr != "" {
		if mm, err = strconv.Atoi(mStr); err != nil {
			return fmt.Errorf("-m %q: not a number", mStr)
		}
	}
	var seed int64 = 1
	if seedStr != "" {
		if seed, err = strconv.ParseInt(seedStr, 10, 64); err != nil {
			return fmt.Errorf("--seed %q: not a number", seedStr)
		}
	}
	b, err := topo.GenerateBAWith(n, mm, seed, topo.BAOptions{Relations: relations})
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

func cmdClean(args []string) error {
	if len(args) != 0 {
		return errors.New("usage: lab clean")
	}
	if err := needRoot("clean"); err != nil {
		return err
	}
	return cleanAndReport()
}

func cleanAndReport() error {
	rep, err := netemu.Clean(runDir())
	// The daemon's log is ours, not netemu's: it goes with its lab.
	for _, name := range rep.Labs {
		os.Remove(logPath(name))
	}
	fmt.Println(rep)
	return err
}

// topoError prints a topology's problems as `lab validate` does (place,
// source line, caret) and fails with status 1.
func topoError(err error) error {
	topo.WriteErrors(os.Stderr, err)
	return exitError{code: 1}
}
