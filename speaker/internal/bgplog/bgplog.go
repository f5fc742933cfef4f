// Package bgplog is a speaker's log: FRR-style lines, written to the
// daemon's output and kept in a bounded ring for `show log`.
package bgplog

import (
	"fmt"
	"io"
	"sync"

	"lab/speaker/clock"
)

// Log is a speaker's log: FRR-style lines written to a writer and kept in
// a bounded ring for `show log`. Safe for concurrent use.
type Log struct {
	mu    sync.Mutex
	w     io.Writer
	ring  []string
	next  int
	full  bool
	clock clock.Clock
}

const logRingLen = 1000

// New returns a log that writes every line to w (nil: kept only) and
// stamps it with c's time.
func New(w io.Writer, c clock.Clock) *Log { return &Log{w: w, clock: c} }

// Printf logs a line.
func (l *Log) Printf(format string, args ...any) {
	line := l.clock.Now().Format("2006/01/02 15:04:05") + " BGP: " + fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	// The ring grows as lines come: most speakers of a large lab log a
	// few lines, and 200 of them would hold 3 MB of empty rings.
	if !l.full && len(l.ring) < logRingLen {
		l.ring = append(l.ring, line)
		if len(l.ring) == logRingLen {
			l.full, l.next = true, 0
		}
	} else {
		l.ring[l.next] = line
		l.next = (l.next + 1) % len(l.ring)
	}
	if l.w != nil {
		io.WriteString(l.w, line+"\n")
	}
}

// Lines returns the kept lines, oldest first.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]string(nil), l.ring...)
	}
	return append(append([]string(nil), l.ring[l.next:]...), l.ring[:l.next]...)
}
