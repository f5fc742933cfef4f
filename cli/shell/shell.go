// Package shell is the lab shell's client: the front end a user types
// into (go-prompt on a terminal, plain lines from a pipe), with history
// and Tab completion. It runs node commands itself, inside the node's
// namespace so the program gets the user's terminal, and `sh`, `source`,
// `help` and `exit`; every other command goes to the lab daemon over its
// control socket (lab/cli/commands runs it there). Both read lines with
// the same grammar, lab/cli/grammar.
package shell

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	prompt "github.com/c-bata/go-prompt"
	"golang.org/x/term"

	"lab/cli/grammar"
	"lab/control"
	"lab/netemu"
)

// Prompt is the shell's prompt.
const Prompt = "lab> "

// ErrExit is returned by Exec for `exit`, `quit` and end of input.
var ErrExit = errors.New("exit")

// Shell is the client side of the lab shell: it reads command lines (from
// go-prompt on a terminal, plain lines otherwise), runs node commands
// itself inside the node's namespace, and sends every other command to the
// lab daemon.
type Shell struct {
	Info   *control.Info
	Socket string // the daemon's control socket

	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Echo prints each command read from a non-terminal input after the
	// prompt, so the output of a piped exercise reads like a session.
	Echo bool
	// HistoryFile keeps the interactive history between sessions ("" for none).
	HistoryFile string
	// Terminate is called, after the terminal is restored, when SIGTERM or
	// SIGHUP arrives while the prompt waits for input (go-prompt cannot be
	// interrupted there). Default: exit with status 128+signal.
	Terminate func(os.Signal)

	failed bool // some command of this session failed

	labOnce sync.Once
	names   *grammar.Lab // Info as the grammar reads words

	// menu: the completion menu is open. Only go-prompt's Input
	// goroutine (which calls the completer) uses it.
	menu bool
}

// lab returns the lab's names, as the grammar reads them.
func (s *Shell) lab() *grammar.Lab {
	s.labOnce.Do(func() { s.names = Names(s.Info) })
	return s.names
}

// Names is a lab's description from its daemon as the grammar reads
// words: its nodes, which routers run the lab's speaker, its interfaces.
func Names(info *control.Info) *grammar.Lab {
	var nodes []grammar.LabNode
	for _, n := range info.Nodes {
		ln := grammar.LabNode{Name: n.Name, Kind: n.Kind, Speaker: n.Kind == "router" && !n.External, Daemon: n.Daemon != ""}
		for _, i := range n.Interfaces {
			ln.Interfaces = append(ln.Interfaces, grammar.LabIface{Name: i.Name, Peer: i.Peer})
		}
		nodes = append(nodes, ln)
	}
	return grammar.NewLab(nodes)
}

// Failed reports whether a command run by Run failed.
func (s *Shell) Failed() bool { return s.failed }

// Run reads and runs commands until `exit`, end of input or ctx's end.
// On a terminal it uses go-prompt and restores the terminal exactly as it
// found it, whatever happens.
func (s *Shell) Run(ctx context.Context) error {
	// A Ctrl-C reaches the whole foreground process group: the program a
	// node command runs handles it, the shell must survive it and cancel a
	// daemon command under way. signal.Notify (not Ignore, which children
	// would inherit) keeps the shell alive.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT)
	defer func() {
		signal.Stop(sigs) // no send after Stop returns: closing is safe
		close(sigs)
	}()
	var mu sync.Mutex
	var cancelCur context.CancelFunc
	go func() {
		for range sigs {
			mu.Lock()
			if cancelCur != nil {
				cancelCur()
			}
			mu.Unlock()
		}
	}()
	run := func(line string) error {
		cctx, cancel := context.WithCancel(ctx)
		mu.Lock()
		cancelCur = cancel
		mu.Unlock()
		defer func() {
			mu.Lock()
			cancelCur = nil
			mu.Unlock()
			cancel()
		}()
		ok, _, err := s.Exec(cctx, line, false)
		if errors.Is(err, ErrExit) {
			return err
		}
		if err != nil {
			fmt.Fprintf(s.Err, "*** %v\n", err)
		}
		if !ok || err != nil {
			s.failed = true
		}
		return nil
	}

	if f, ok := s.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return s.runPrompt(ctx, f, run)
	}
	sc := bufio.NewScanner(s.In)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := sc.Text()
		if s.Echo {
			fmt.Fprintf(s.Out, "%s%s\n", Prompt, line)
		}
		if err := run(line); err != nil {
			return nil
		}
	}
	return sc.Err()
}

func (s *Shell) runPrompt(ctx context.Context, tty *os.File, run func(string) error) error {
	// go-prompt restores the termios it saw the first time it switched
	// to raw mode, and not at all if it panics; keep our own copy and put
	// it back on every way out.
	fd := int(tty.Fd())
	saved, err := term.GetState(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, saved)

	// SIGTERM and SIGHUP end the shell (and, for `lab run`, the lab)
	// cleanly: restore the terminal first.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGHUP)
	left := make(chan struct{})
	defer func() {
		signal.Stop(stop)
		close(left)
	}()
	go func() {
		var sig os.Signal
		select {
		case sig = <-stop:
		case <-left:
			return
		}
		term.Restore(fd, saved)
		fmt.Fprintln(s.Out)
		if s.Terminate != nil {
			s.Terminate(sig)
			return
		}
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()

	hist := s.loadHistory()
	exited := false
	p := prompt.New(
		func(string) {},
		s.complete,
		prompt.OptionParser(&keys{in: prompt.NewStandardInputParser()}),
		prompt.OptionPrefix(Prompt),
		prompt.OptionTitle("lab "+s.Info.Name),
		prompt.OptionHistory(hist),
		prompt.OptionAddKeyBind(prompt.KeyBind{
			Key: prompt.ControlD,
			Fn: func(b *prompt.Buffer) {
				if b.Text() == "" {
					exited = true
				}
			},
		}),
		prompt.OptionMaxSuggestion(12),
		prompt.OptionCompletionOnDown(),
	)
	for ctx.Err() == nil {
		line := p.Input()
		if exited {
			fmt.Fprintln(s.Out)
			return nil
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		s.appendHistory(line)
		// The command runs with the terminal as we found it (cooked,
		// echoing), whatever state go-prompt left it in.
		term.Restore(fd, saved)
		if err := run(line); err != nil {
			return nil
		}
	}
	return ctx.Err()
}

// Exec runs one command line. It returns whether the command succeeded,
// its JSON result (asJSON), and an error for commands that could not run
// at all. It returns ErrExit for `exit`.
func (s *Shell) Exec(ctx context.Context, line string, asJSON bool) (ok bool, result json.RawMessage, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return true, nil, nil
	}
	p, err := grammar.Shell.Parse(s.lab(), line)
	if err != nil {
		return false, nil, err
	}
	switch p.Entry.Name {
	case "exit":
		return true, nil, ErrExit
	case "help":
		fmt.Fprint(s.Out, grammar.Shell.Help(strings.Fields(p.Args.Text("topic"))))
		return true, nil, nil
	case "sh":
		return s.runLocal(ctx, "", "", p.Args.Text("command"), asJSON)
	case "source":
		return s.source(ctx, p.Args.Text("file"))
	case "node":
		n := s.Info.Node(p.Args.Text("node"))
		cmd := strings.Join(substitute(s.Info, n, strings.Fields(p.Args.Text("command"))), " ")
		return s.runLocal(ctx, n.Name, n.NSPath, cmd, asJSON)
	}
	if p.Entry.Client {
		return false, nil, fmt.Errorf("%s: the shell has no implementation", p.Entry.Name)
	}
	if p.Entry.Name == "apply" {
		// The daemon reads the file: a path relative to where the user
		// typed it means nothing there.
		abs, err := filepath.Abs(p.Args.Text("file"))
		if err != nil {
			return false, nil, err
		}
		line = "apply " + abs
	}
	// On a terminal, a long command (wait) draws its progress in place.
	f, isFile := s.Out.(*os.File)
	tty := isFile && !asJSON && term.IsTerminal(int(f.Fd()))
	rep, err := control.Do(ctx, s.Socket, control.Request{Op: control.OpRun, Line: line, JSON: asJSON, Terminal: tty}, s.Out)
	var re *control.RemoteError
	if errors.As(err, &re) {
		if rep != nil {
			return false, rep.JSON, errors.New(re.Msg)
		}
		return false, nil, err
	}
	if err != nil {
		return false, nil, err
	}
	if !asJSON && len(rep.JSON) > 0 {
		// The line asked for JSON itself (`show bgp summary json`, as in
		// vtysh): shown as vtysh shows it, indented.
		var b bytes.Buffer
		if json.Indent(&b, rep.JSON, "", "  ") == nil {
			b.WriteByte('\n')
			s.Out.Write(b.Bytes())
		}
	}
	return true, rep.JSON, nil
}

// NodeCommandResult is the JSON result of a node command.
type NodeCommandResult struct {
	Node     string `json:"node,omitempty"`
	Command  string `json:"command"`
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output"`
}

// runLocal runs a command line with the shell in the node's namespace (or
// in the root namespace when nsPath is ""), attached to the shell's
// terminal, as Mininet runs node commands in the node's bash.
func (s *Shell) runLocal(ctx context.Context, node, nsPath, line string, asJSON bool) (bool, json.RawMessage, error) {
	shell := "/bin/sh"
	if _, err := os.Stat("/bin/bash"); err == nil {
		shell = "/bin/bash"
	}
	var cmd *exec.Cmd
	if nsPath == "" {
		cmd = exec.CommandContext(ctx, shell, "-c", line)
	} else {
		cmd = netemu.Command(nsPath, shell, "-c", line)
		cmd.Env = append(os.Environ(), "LAB_NODE="+node, "LAB_NAME="+s.Info.Name)
	}
	var buf strings.Builder
	if asJSON {
		cmd.Stdout, cmd.Stderr = &buf, &buf
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = s.stdin(), s.Out, s.Err
	}
	err := cmd.Start()
	if err != nil {
		return false, nil, fmt.Errorf("%s: %w", orRoot(node), err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGINT)
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		err = nil
	}
	if err != nil {
		return false, nil, err
	}
	var res json.RawMessage
	if asJSON {
		res, _ = json.Marshal(NodeCommandResult{Node: node, Command: line, ExitCode: code, Output: buf.String()})
	}
	return code == 0, res, nil
}

func orRoot(node string) string {
	if node == "" {
		return "sh"
	}
	return node
}

// stdin gives a node command the shell's terminal, or nothing when the
// shell reads a script: the script's next lines are commands for the
// shell, not input for the program.
func (s *Shell) stdin() io.Reader {
	if f, ok := s.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

func (s *Shell) source(ctx context.Context, path string) (bool, json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, nil, err
	}
	defer f.Close()
	ok := true
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if ctx.Err() != nil {
			return false, nil, ctx.Err()
		}
		lok, _, err := s.Exec(ctx, sc.Text(), false)
		if errors.Is(err, ErrExit) {
			return ok, nil, err
		}
		if err != nil {
			fmt.Fprintf(s.Err, "*** %v\n", err)
		}
		ok = ok && lok && err == nil
	}
	return ok, nil, sc.Err()
}

func (s *Shell) loadHistory() []string {
	if s.HistoryFile == "" {
		return nil
	}
	b, err := os.ReadFile(s.HistoryFile)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 1000 {
		lines = lines[len(lines)-1000:]
	}
	return lines
}

func (s *Shell) appendHistory(line string) {
	if s.HistoryFile == "" {
		return
	}
	os.MkdirAll(filepath.Dir(s.HistoryFile), 0o700)
	f, err := os.OpenFile(s.HistoryFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	fmt.Fprintln(f, line)
	f.Close()
}
