package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"lab/speaker"
	"lab/topo"
)

// Progress of a lab coming up. The daemon reports it on its progress
// stream (the readiness pipe of `lab up -d` and `lab run`, or stdout) as
// lines "progress JSON"; the progressView showing that stream draws the
// latest on one line updated in place on a terminal, and drops them
// elsewhere. Either way the daemon ends with one summary line (summary),
// which is all a log or a script sees.
const progressPrefix = "progress "

// startupProgress is where a lab's start-up is.
type startupProgress struct {
	Namespaces      int `json:"namespaces"`
	NamespacesTotal int `json:"namespaces_total"`
	Links           int `json:"links"`
	LinksTotal      int `json:"links_total"`
	// Sessions counts the sessions between two of the lab's speakers that
	// are Established at both ends.
	Sessions      int `json:"sessions"`
	SessionsTotal int `json:"sessions_total"`
	// Routes counts the routes the speakers installed in the kernel.
	Routes int `json:"routes"`
	// Speakers is set once the speakers run.
	Speakers bool `json:"speakers,omitempty"`
}

// line is the live line: "namespaces 8/8  links 3/8".
func (p startupProgress) line() string {
	s := fmt.Sprintf("namespaces %d/%d  links %d/%d", p.Namespaces, p.NamespacesTotal, p.Links, p.LinksTotal)
	if p.Speakers {
		s += fmt.Sprintf("  sessions Established %d/%d  routes installed %d", p.Sessions, p.SessionsTotal, p.Routes)
	}
	return s
}

// summary is the one line that stays.
func (p startupProgress) summary() string {
	return fmt.Sprintf("*** %d namespaces, %d links, %d/%d BGP sessions Established, %d routes installed",
		p.NamespacesTotal, p.LinksTotal, p.Sessions, p.SessionsTotal, p.Routes)
}

// progressReporter writes a daemon's progress lines, at most ten a second
// but the last. mu guards p and last: the build's workers report
// concurrently.
type progressReporter struct {
	w    io.Writer
	mu   sync.Mutex
	p    startupProgress
	last time.Time
	sent startupProgress // the last line written
}

func newProgressReporter(w io.Writer, m *topo.Lab) *progressReporter {
	return &progressReporter{w: w, p: startupProgress{NamespacesTotal: len(m.Nodes()), LinksTotal: len(m.Links)}}
}

const progressEvery = 100 * time.Millisecond

func (r *progressReporter) emitLocked(force bool) {
	if r.p == r.sent && !r.last.IsZero() || !force && time.Since(r.last) < progressEvery {
		return
	}
	r.last, r.sent = time.Now(), r.p
	b, _ := json.Marshal(r.p)
	fmt.Fprintf(r.w, "%s%s\n", progressPrefix, b)
}

// netemuProgress is the data plane's progress (netemu.Options.Progress).
// The kernel's veths are the lab's links (a bridged LAN has one more per
// host); links are counted in the lab's own terms.
func (d *labDaemon) netemuProgress(phase string, done, total int) {
	r := d.prog
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch phase {
	case "namespaces":
		r.p.Namespaces, r.p.NamespacesTotal = done, total
	case "veths":
		r.p.LinksTotal = len(d.model.Links)
		r.p.Links = r.p.LinksTotal
		if total > 0 {
			r.p.Links = done * r.p.LinksTotal / total
		}
	default:
		return
	}
	r.emitLocked(done == total)
}

// sessionProgress counts the sessions between two of the lab's speakers,
// those Established at both ends, and the routes the speakers installed.
// It reads each speaker's session states (no table) and route count.
func (d *labDaemon) sessionProgress() (established, total, routes int) {
	states := map[string]map[netip.Addr]speaker.State{}
	for name, sp := range d.env.Routers {
		m := map[netip.Addr]speaker.State{}
		for _, p := range sp.Peers() {
			m[p.Addr] = p.State
		}
		states[name] = m
		routes += sp.InstalledRoutes()
	}
	for _, s := range d.model.Sessions {
		a, b := states[s.A.Router.Name], states[s.B.Router.Name]
		if a == nil || b == nil {
			continue // an external router's: not ours to count
		}
		total++
		if a[s.B.Addr] == speaker.Established && b[s.A.Addr] == speaker.Established {
			established++
		}
	}
	return established, total, routes
}

// Start-up waits while someone watches: until every session is
// Established and the routes stopped changing for routesQuiet, or
// nothing moved for stalled (a session that cannot come up must not
// hold the shell back).
const (
	routesQuiet = 500 * time.Millisecond
	stalled     = 5 * time.Second
)

// reportStartup reports the sessions and routes once the speakers run:
// when watched, as they come up, until they have or stall; then the
// summary line.
func (d *labDaemon) reportStartup(ctx context.Context, watched bool, progress func(string, ...any)) {
	r := d.prog
	sample := func() (startupProgress, bool) {
		est, total, routes := d.sessionProgress()
		r.mu.Lock()
		defer r.mu.Unlock()
		old := r.p
		r.p.Speakers, r.p.Sessions, r.p.SessionsTotal, r.p.Routes = true, est, total, routes
		r.p.NamespacesTotal, r.p.LinksTotal = len(d.model.Nodes()), len(d.model.Links)
		r.p.Namespaces, r.p.Links = r.p.NamespacesTotal, r.p.LinksTotal
		if watched {
			r.emitLocked(false)
		}
		return r.p, r.p != old
	}
	p, _ := sample()
	if watched {
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		moved, quiet := time.Now(), time.Now()
	wait:
		for {
			select {
			case <-ctx.Done():
				break wait
			case <-tick.C:
			}
			routes := p.Routes
			var changed bool
			p, changed = sample()
			now := time.Now()
			if changed {
				moved = now
			}
			if p.Routes != routes || p.Sessions < p.SessionsTotal {
				quiet = now
			}
			if now.Sub(quiet) >= routesQuiet || now.Sub(moved) >= stalled {
				break
			}
		}
		r.mu.Lock()
		r.emitLocked(true)
		r.mu.Unlock()
	}
	progress("%s", p.summary())
}

// progressView shows a progress stream: it passes lines through, and
// draws progress lines in place on a terminal (dropping them elsewhere).
// It is safe for concurrent writers; mu guards everything.
type progressView struct {
	mu    sync.Mutex
	out   io.Writer
	tty   bool
	buf   []byte
	shown bool // a live line is on the screen
}

// newProgressView shows progress on out, live when out is a terminal.
func newProgressView(out io.Writer) *progressView {
	v := &progressView{out: out}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		v.tty = true
	}
	return v
}

// Write takes whole lines (a partial one waits for its end).
func (v *progressView) Write(b []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.buf = append(v.buf, b...)
	for {
		i := strings.IndexByte(string(v.buf), '\n')
		if i < 0 {
			break
		}
		v.lineLocked(string(v.buf[:i]))
		v.buf = v.buf[i+1:]
	}
	return len(b), nil
}

// line shows one line of the stream.
func (v *progressView) line(l string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lineLocked(l)
}

func (v *progressView) lineLocked(l string) {
	if rest, ok := strings.CutPrefix(l, progressPrefix); ok {
		var p startupProgress
		if !v.tty || json.Unmarshal([]byte(rest), &p) != nil {
			return
		}
		// \r and erase-line: the line is drawn again where it was.
		fmt.Fprintf(v.out, "\r\x1b[K*** %s", p.line())
		v.shown = true
		return
	}
	v.clearLocked()
	fmt.Fprintln(v.out, l)
}

func (v *progressView) clearLocked() {
	if v.shown {
		fmt.Fprint(v.out, "\r\x1b[K")
		v.shown = false
	}
}

// done erases the live line, if one is shown, and writes what is left of
// a partial line.
func (v *progressView) done() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.buf) > 0 {
		v.lineLocked(string(v.buf))
		v.buf = nil
	}
	v.clearLocked()
}

// viewStdout sends everything written to os.Stdout through a
// progressView of the real stdout, for a daemon running in the foreground
// of a terminal: the speakers' log lines then never tear the live line.
// restore puts stdout back once the writers are done.
func viewStdout() (restore func(), err error) {
	real := os.Stdout
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	v := newProgressView(real)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(v, pr)
		v.done()
	}()
	os.Stdout = pw
	return func() {
		os.Stdout = real
		pw.Close()
		<-copied
		pr.Close()
	}, nil
}
