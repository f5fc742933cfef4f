package session

import (
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"

	"lab/speaker/clock"
	"lab/speaker/internal/bgplog"
)

// failingListener fails its first accepts with EMFILE, as a listener of a
// process out of descriptors does, and is closed after.
type failingListener struct {
	mu    sync.Mutex
	fails int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == 0 {
		return nil, net.ErrClosed
	}
	l.fails--
	return nil, &net.OpError{Op: "accept", Net: "tcp6", Err: syscall.EMFILE}
}

func (l *failingListener) Close() error   { return nil }
func (l *failingListener) Addr() net.Addr { return &net.TCPAddr{} }

// A listener out of descriptors is accepted from again after a growing
// pause, not at once: each failure is logged with the pause after it, 5 ms
// doubling.
func TestAcceptBacksOff(t *testing.T) {
	log := bgplog.New(io.Discard, clock.System{})
	e := New(Config{Name: "t", Log: log, Clock: clock.System{}})
	defer e.Close()
	e.wg.Add(1)
	e.accept(&failingListener{fails: 3})
	var got []string
	for _, line := range log.Lines() {
		if i := strings.Index(line, "(again in "); i >= 0 {
			got = append(got, line[i:])
		}
	}
	want := []string{"(again in 5ms)", "(again in 10ms)", "(again in 20ms)"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("accept failures logged %q, want %q", got, want)
	}
}
