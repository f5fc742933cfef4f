package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var summaryLine = regexp.MustCompile(`(?m)^\*\*\* (\d+) namespaces, (\d+) links, (\d+)/(\d+) BGP sessions Established, (\d+) routes installed\r?$`)

// TestUpProgressNotATerminal: without a terminal, `lab up` prints one
// summary line of its progress, and nothing drawn in place.
func TestUpProgressNotATerminal(t *testing.T) {
	l := newTestLab(t)
	out := l.must("up", "-d", "--name", l.name, filepath.Join("..", "..", "topologies/simple-bgp.yaml"))
	defer l.must("down", l.name)
	if n := len(summaryLine.FindAllString(out, -1)); n != 1 {
		t.Errorf("%d summary lines, want 1:\n%s", n, out)
	}
	m := summaryLine.FindStringSubmatch(out)
	if m == nil || m[1] != "8" || m[2] != "8" || m[4] != "8" {
		t.Errorf("summary %q: want 8 namespaces, 8 links, of 8 sessions", m)
	}
	for _, bad := range []string{"\r", "\x1b", progressPrefix} {
		if strings.Contains(out, bad) {
			t.Errorf("output has %q:\n%q", bad, out)
		}
	}
	// wait, likewise, prints its result only.
	if w := l.must("cmd", l.name, "wait"); strings.Contains(w, "waiting:") || strings.Contains(w, "\x1b") {
		t.Errorf("wait without a terminal drew its progress:\n%q", w)
	}
}

// TestUpProgressOnATerminal: on a terminal, `lab up` draws namespaces,
// links, sessions and routes on one line updated in place, waits for the
// sessions, and ends with the summary; `wait` draws sessions up and
// routers converged as it goes.
func TestUpProgressOnATerminal(t *testing.T) {
	l := newTestLab(t)
	m, s := openPTY(t)
	out := readPTY(m)
	c := l.cmd(nil, "up", "-d", "--name", l.name, filepath.Join("..", "..", "topologies/simple-bgp.yaml"))
	c.Stdout, c.Stderr = s, s
	err := c.Run()
	defer l.must("down", l.name)
	if err != nil {
		t.Fatalf("lab up on a terminal: %v\n%q%s", err, out.buf.String(), l.daemonLog())
	}
	out.waitFor(t, "runs in the background")
	text := out.buf.String()
	for _, want := range []string{
		"\r\x1b[K*** namespaces 8/8  links 8/8",
		"\r\x1b[K*** namespaces 8/8  links 8/8  sessions Established 8/8  routes installed 24",
		// The live line is erased before the summary takes its place.
		"\r\x1b[K*** 8 namespaces, 8 links, 8/8 BGP sessions Established, 24 routes installed\r\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the terminal lacks %q:\n%q", want, text)
		}
	}
	if strings.Contains(text, progressPrefix) {
		t.Errorf("a raw progress line reached the terminal:\n%q", text)
	}

	before := len(out.buf.String())
	w := l.cmd(nil, "cmd", l.name, "wait")
	w.Stdout, w.Stderr = s, s
	if err := w.Run(); err != nil {
		t.Fatalf("lab cmd wait on a terminal: %v", err)
	}
	out.waitFor(t, "every table exchanged")
	text = out.buf.String()[before:]
	if !regexp.MustCompile(`\r\x1b\[K\*\*\* waiting: sessions up \d+/8, routers converged \d+/4`).MatchString(text) {
		t.Errorf("wait drew no progress:\n%q", text)
	}
	if !strings.Contains(text, "\r\x1b[K*** converged: 8 BGP sessions established") {
		t.Errorf("wait's progress line not erased before its result:\n%q", text)
	}
}
