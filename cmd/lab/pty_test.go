package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's master and slave.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ptyReader collects what the program writes to the terminal.
type ptyReader struct {
	buf  lockedBuffer
	done chan struct{}
}

func readPTY(m *os.File) *ptyReader {
	r := &ptyReader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		b := make([]byte, 4096)
		for {
			n, err := m.Read(b)
			r.buf.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	return r
}

func (r *ptyReader) waitFor(t *testing.T, s string) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%q on the terminal", s), func() error {
		if strings.Contains(r.buf.String(), s) {
			return nil
		}
		return errors.New("not yet")
	})
}

// TestShellOnATerminal drives `lab shell` through go-prompt on a real
// pseudo-terminal: commands run, a node command gets the terminal, Ctrl-C
// does not kill the shell, and on exit the terminal's settings are exactly
// what they were.
func TestShellOnATerminal(t *testing.T) {
	l := newTestLab(t)
	l.up("topologies/minimal.yaml")
	defer func() {
		pid := l.daemonPID()
		l.must("down", l.name)
		l.assertGone(pid)
	}()

	m, s := openPTY(t)
	before, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	c := l.cmd(nil, "shell", l.name)
	c.Stdin, c.Stdout, c.Stderr = s, s, s
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill() // before the lab goes, if the test fails
	out := readPTY(m)
	out.waitFor(t, "lab> ")

	// go-prompt reads the terminal every few milliseconds and takes what
	// one read returns as one key when it is a key's sequence, as text
	// otherwise: type a line, wait for its echo, then press a key, as a
	// person does.
	key := func(k string) {
		if _, err := m.Write([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	// echoed matches the prompt followed by text, whatever colours
	// go-prompt puts between them (the completion menu shows command
	// names too).
	echoed := func(text string) *regexp.Regexp {
		return regexp.MustCompile(`lab> (\x1b\[[0-9;]*m)*` + regexp.QuoteMeta(text))
	}
	typeText := func(text string) {
		re := echoed(text)
		n := len(re.FindAllStringIndex(out.buf.String(), -1))
		key(text)
		eventually(t, 20*time.Second, "echo of "+text, func() error {
			if len(re.FindAllStringIndex(out.buf.String(), -1)) > n {
				return nil
			}
			return errors.New("not echoed yet")
		})
	}
	line := func(text string) {
		typeText(text)
		key("\r")
	}
	line("nodes")
	defer func() {
		if t.Failed() {
			s := out.buf.String()
			t.Logf("terminal (tail):\n%q", s[max(0, len(s)-1500):])
		}
	}()
	out.waitFor(t, "available nodes are:")
	// A node command gets the terminal: `tty` names it.
	line("h1 tty")
	out.waitFor(t, "/dev/pts/")
	// Ctrl-C at the prompt clears the line; the shell lives on.
	typeText("pingal")
	prompts := strings.Count(out.buf.String(), "lab> ")
	key("\x03")
	eventually(t, 20*time.Second, "a fresh prompt after Ctrl-C", func() error {
		if strings.Count(out.buf.String(), "lab> ") > prompts {
			return nil
		}
		return errors.New("no new prompt")
	})
	line("intfs")
	out.waitFor(t, "as1ra: as1ra-eth0")
	if strings.Contains(out.buf.String(), "Ping: testing") {
		t.Error("the line cleared by Ctrl-C ran")
	}
	line("exit")

	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("lab shell: %v\n%s", err, out.buf.String())
		}
	case <-time.After(20 * time.Second):
		c.Process.Kill()
		t.Fatalf("lab shell did not exit:\n%s", out.buf.String())
	}

	after, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *before != *after {
		t.Errorf("terminal settings changed by the shell:\nbefore %+v\nafter  %+v", *before, *after)
	}
	if bytes.Contains([]byte(out.buf.String()), []byte("panic")) {
		t.Errorf("the shell panicked:\n%s", out.buf.String())
	}
}
