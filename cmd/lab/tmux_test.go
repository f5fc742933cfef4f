package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tmuxPane is a real terminal for a test: one pane of a tmux server of
// its own (-L), running an interactive bash whose prompt is "outer$ ".
type tmuxPane struct {
	t      *testing.T
	socket string
	dir    string
}

// newTmuxPane starts the server; a cleanup kills it, whatever the test's
// outcome.
func newTmuxPane(t *testing.T) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	b := make([]byte, 4)
	rand.Read(b)
	p := &tmuxPane{t: t, socket: "labtest-" + hex.EncodeToString(b), dir: t.TempDir()}
	conf := filepath.Join(p.dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g history-limit 100000\nset -g status off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.command("kill-server").Run() })
	p.tmux("-f", conf, "new-session", "-d", "-s", "t", "-x", "160", "-y", "50", "-c", p.dir,
		"PS1='outer$ ' HISTFILE=/dev/null exec bash --norc --noprofile -i")
	p.waitLines(-1, "outer$")
	return p
}

// command is a tmux command to the pane's server, whose socket is in the
// test's directory.
func (p *tmuxPane) command(args ...string) *exec.Cmd {
	c := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...)
	c.Env = append(os.Environ(), "TMUX_TMPDIR="+p.dir)
	return c
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := p.command(args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the pane's text, scrollback included, each line without its
// trailing spaces.
func (p *tmuxPane) screen() string {
	p.t.Helper()
	lines := strings.Split(p.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

// visible is what the pane shows now, without the scrollback.
func (p *tmuxPane) visible() string {
	p.t.Helper()
	return p.tmux("capture-pane", "-p", "-J", "-t", "t")
}

// typeText types text as keys, without Enter.
func (p *tmuxPane) typeText(text string) { p.t.Helper(); p.tmux("send-keys", "-t", "t", "-l", text) }

// press presses keys by their tmux names: Enter, Tab, C-c.
func (p *tmuxPane) press(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// paste pastes text as a terminal does: written to the program at once,
// newlines as carriage returns.
func (p *tmuxPane) paste(text string) {
	p.t.Helper()
	f := filepath.Join(p.dir, "paste")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.tmux("load-buffer", "-b", "paste", f)
	p.tmux("paste-buffer", "-d", "-b", "paste", "-t", "t")
}

// waitFor polls the screen until cond accepts it.
func (p *tmuxPane) waitFor(what string, cond func(screen string) error) {
	p.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := cond(p.screen())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: not on the terminal within 90s: %v\nscreen:\n%s", what, err, p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLines waits until the screen has lines equal to (or, for a want
// ending in "…", starting with) each of want, in that order, after the
// line at index from; it returns the index of the last. When the last is
// an empty prompt ("lab>"), the next command is echoed on that very line:
// the index returned is the line before it.
func (p *tmuxPane) waitLines(from int, want ...string) int {
	p.t.Helper()
	last := from
	p.waitFor(fmt.Sprintf("%q in order", want), func(s string) error {
		var err error
		last, err = linesInOrder(strings.Split(s, "\n"), from, want)
		return err
	})
	if want[len(want)-1] == "lab>" {
		return last - 1
	}
	return last
}

func linesInOrder(lines []string, from int, want []string) (int, error) {
	i := from
	for _, w := range want {
		prefix, isPrefix := strings.CutSuffix(w, "…")
		for i++; i < len(lines); i++ {
			if lines[i] == w || isPrefix && strings.HasPrefix(lines[i], prefix) {
				break
			}
		}
		if i >= len(lines) {
			return 0, fmt.Errorf("no line %q after line %d", w, from)
		}
	}
	return i, nil
}

func countLines(s, line string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			n++
		}
	}
	return n
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestShellInTmux is `lab run` in a real terminal, used as people do: the
// completion menu waits for Tab or a word; a command typed with its Enter
// runs; pasted lines run one by one, in order, each echoed on its own
// prompt line; what is typed while a command runs runs once, after it;
// after exit the terminal's settings are what they were and the outer
// shell's prompt is back.
func TestShellInTmux(t *testing.T) {
	l := newTestLab(t)
	p := newTmuxPane(t) // after newTestLab: its cleanup runs first
	defer func() {
		if t.Failed() {
			t.Logf("screen:\n%s", p.screen())
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	topology, err := filepath.Abs("../../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before, after := filepath.Join(p.dir, "stty-before"), filepath.Join(p.dir, "stty-after")
	p.typeText(fmt.Sprintf("stty -a > %s; env %s=1 LAB_RUN_DIR=%s HOME=%s %s run --name %s %s; status=$?; stty -a > %s; echo lab exited $status",
		shellQuote(before), labMainEnv, shellQuote(l.runDir), shellQuote(l.runDir), shellQuote(exe), l.name, shellQuote(topology), shellQuote(after)))
	p.press("Enter")
	at := p.waitLines(0, "*** Starting CLI…", "lab>")

	// No menu on an empty prompt (it is drawn with the prompt, in one
	// write), nor on the fresh one after Ctrl-C.
	noMenu := func(when string) {
		t.Helper()
		if v := p.visible(); strings.Contains(v, "list the nodes") {
			t.Fatalf("the completion menu shows %s:\n%s", when, v)
		}
	}
	noMenu("on the first prompt")
	p.press("C-c")
	at = p.waitLines(at, "lab>")
	noMenu("on an empty prompt")
	// Tab shows it; so does typing a word; Ctrl-C takes it away.
	menu := func(keys func(), text string) {
		t.Helper()
		keys()
		p.waitFor("the completion menu", func(string) error {
			if !strings.Contains(p.visible(), text) {
				return errors.New("no menu")
			}
			return nil
		})
		p.press("C-c")
		p.waitFor("the menu gone", func(string) error {
			if strings.Contains(p.visible(), text) {
				return errors.New("menu still there")
			}
			return nil
		})
	}
	menu(func() { p.press("Tab") }, "list the nodes")
	menu(func() { p.typeText("pin") }, "ping between every pair of hosts over each address family")
	at = p.waitLines(at, "lab> pin", "lab>")

	// A command and its Enter in one go.
	p.press("wait 30", "Enter")
	at = p.waitLines(at, "lab> wait 30", "*** converged…")

	// A paste of several lines: each runs, in order, on its own prompt
	// line (it used to insert the carriage returns as text and run the
	// lines as one command: `pingall h1 traceroute6 h2` → "timeout h1").
	p.paste("nodes\npingall\nh1 traceroute6 -n -q1 -w1 h2\nlinks\n")
	at = p.waitLines(at,
		"lab> nodes", "available nodes are:", "as1ra as2rb as3rc as4rd h1 h2 h3 h4",
		"lab> pingall", "*** Ping: testing reachability over IPv4 and IPv6", "*** Results: 0% dropped (24/24 received)",
		"lab> h1 traceroute6 -n -q1 -w1 h2", "traceroute to 2001:1234:2::2 …", " 3  2001:1234:2::2 …",
		"lab> links", "as1ra-eth0<->as2rb-eth0 (OK OK)", "as4rd-eth1<->h4-eth0 (OK OK)",
		"lab>")
	s := p.screen()
	for _, line := range []string{"lab> nodes", "lab> pingall", "lab> h1 traceroute6 -n -q1 -w1 h2", "lab> links"} {
		if n := countLines(s, line); n != 1 {
			t.Errorf("%q is on %d lines, want 1", line, n)
		}
	}
	if strings.Contains(s, "*** unexpected") || strings.Contains(s, "*** unknown") || strings.Contains(s, "timeout") {
		t.Errorf("a pasted line failed:\n%s", s)
	}

	// Typed while a command runs: run once, after it. The command is cat
	// of a FIFO: it runs (the terminal is the user's again, echoing) once
	// it holds the FIFO open, and ends when the test closes it.
	fifo := filepath.Join(p.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	p.typeText("sh cat " + fifo)
	p.press("Enter")
	at = p.waitLines(at, "lab> sh cat "+fifo)
	var w *os.File
	p.waitFor("cat holding the FIFO", func(string) error {
		var err error
		w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		return err
	})
	p.typeText("intfs")
	p.press("Enter")
	at = p.waitLines(at, "intfs") // the terminal's echo, while cat runs
	w.WriteString("released\n")
	w.Close()
	at = p.waitLines(at, "released", "lab> intfs", "as1ra: as1ra-eth0,as1ra-eth1,as1ra-eth2", "h4: h4-eth0", "lab>")
	p.typeText("nodes")
	p.press("Enter")
	p.waitLines(at, "lab> nodes", "available nodes are:", "as1ra as2rb as3rc as4rd h1 h2 h3 h4", "lab>")
	s = p.screen()
	if n := countLines(s, "as1ra: as1ra-eth0,as1ra-eth1,as1ra-eth2"); n != 1 {
		t.Errorf("the typed-ahead intfs ran %d times, want once", n)
	}

	// exit: the lab goes, the outer shell's prompt comes back, and the
	// terminal is as it was.
	p.typeText("exit")
	p.press("Enter")
	p.waitLines(0, "lab> exit", "*** Stopping lab "+l.name, "lab exited 0", "outer$")
	b, err1 := os.ReadFile(before)
	a, err2 := os.ReadFile(after)
	if err1 != nil || err2 != nil || len(b) == 0 {
		t.Fatalf("stty output: %v, %v", err1, err2)
	}
	if string(a) != string(b) {
		t.Errorf("terminal settings after the shell differ:\nbefore: %s\nafter:  %s", b, a)
	}
	if s := p.screen(); strings.Contains(s, "panic") {
		t.Errorf("the shell panicked:\n%s", s)
	}
	if lines := strings.Split(strings.TrimRight(p.screen(), "\n"), "\n"); !slices.Contains(lines[len(lines)-1:], "outer$") {
		t.Errorf("the last line is %q, not the outer shell's prompt", lines[len(lines)-1])
	}
	l.assertGone(0)
}
