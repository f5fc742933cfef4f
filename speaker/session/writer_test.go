package session

import (
	"bytes"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"lab/speaker/wire"
)

// recordingWriter returns a writer on nc and what its onSent saw so far.
func recordingWriter(nc net.Conn) (*writer, func() [][]byte) {
	var mu sync.Mutex
	var sent [][]byte
	w := newWriter(nc, func(m outMsg) {
		mu.Lock()
		sent = append(sent, bytes.Clone(m.b)) // m.b is the writer's, for the call only
		mu.Unlock()
	})
	return w, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}

// A writer's goroutine runs only while it has something to write: queued
// messages wait for flush, go out in order, and the goroutine ends; a
// close after flush writes what is queued first.
func TestWriterOnDemand(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	w, sentSoFar := recordingWriter(a)
	running := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.running
	}
	if running() {
		t.Fatal("a new writer runs before it has anything to write")
	}
	msgs := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	for _, m := range msgs {
		w.queue(m, wire.Options{})
	}
	if running() || w.queued() != 3 {
		t.Fatalf("queue started the writer (running %v, %d queued)", running(), w.queued())
	}
	w.flush()
	got := make([]byte, len("onetwothree"))
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "onetwothree" {
		t.Fatalf("read %q, %v", got, err)
	}
	waitFor(t, "the writer goroutine to end", func() bool { return !running() })
	if sent := sentSoFar(); len(sent) != 3 || !bytes.Equal(sent[2], msgs[2]) {
		t.Errorf("onSent saw %q", sent)
	}

	// send writes at once; closeAfterFlush writes the rest and its last
	// message, then closes; nothing queued after it is written.
	w.send([]byte("four"), wire.Options{})
	w.queue([]byte("five"), wire.Options{})
	w.closeAfterFlush([]byte("last"), wire.Options{})
	w.queue([]byte("late"), wire.Options{})
	rest, err := io.ReadAll(b)
	if err != nil || string(rest) != "fourfivelast" {
		t.Errorf("read %q, %v before the close", rest, err)
	}
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("done not closed after the close")
	}
	w.send([]byte("six"), wire.Options{}) // dropped, and no goroutine starts
	if running() || w.queued() != 0 {
		t.Errorf("a closed writer took a message (running %v, %d queued)", running(), w.queued())
	}
}

// abort closes the connection at once, without writing what is queued.
func TestWriterAbort(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	w := newWriter(a, func(outMsg) {})
	w.queue([]byte("never"), wire.Options{})
	w.abort()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("done not closed after abort")
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := b.Read(make([]byte, 8)); err != io.EOF {
		t.Errorf("read %d bytes, %v; want EOF", n, err)
	}
}

// waitFor polls cond until it holds, or fails the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A KEEPALIVE does not wait behind a large queue: it goes out before the
// queued messages not being written yet, and nothing follows a closing
// connection's last message.
func TestWriterKeepaliveFirst(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	w := newWriter(a, func(outMsg) {})
	const msgLen, msgs = 20 << 10, 4 // one message per write call
	for i := range msgs {
		w.queue(bytes.Repeat([]byte{byte('a' + i)}, msgLen), wire.Options{})
	}
	w.flush()
	// The pipe takes nothing until read: the writer has written at most
	// the first message's call when the KEEPALIVE comes.
	w.sendKeepalive(wire.Options{})
	got := make([]byte, msgs*msgLen+wire.HeaderLen)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	ka := append(bytes.Repeat([]byte{0xff}, 16), 0, wire.HeaderLen, byte(wire.TypeKeepalive))
	at := bytes.Index(got, ka)
	if at < 0 || at%msgLen != 0 || at > msgLen {
		t.Fatalf("KEEPALIVE at byte %d of %d, want before the second message", at, len(got))
	}
	if rest := append(got[:at:at], got[at+len(ka):]...); !bytes.Equal(rest[msgLen:msgLen+1], []byte("b")) || rest[len(rest)-1] != 'd' {
		t.Errorf("the queued messages are out of order around the KEEPALIVE")
	}
	w.closeAfterFlush([]byte("last"), wire.Options{})
	w.sendKeepalive(wire.Options{})
	rest, err := io.ReadAll(b)
	if err != nil || string(rest) != "last" {
		t.Errorf("read %q, %v after the close; want the last message alone", rest, err)
	}
}

// A queue longer than a chunk goes out whole and in order, a message
// larger than a chunk (an extended one) included, and onSent sees each
// message once, as it was queued.
func TestWriterChunks(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	w, sentSoFar := recordingWriter(a)
	var msgs [][]byte
	var want []byte
	for i := range 3000 { // about 3 chunks of 100-byte messages
		m := bytes.Repeat([]byte{byte(i)}, 90+i%20)
		if i == 1500 {
			m = bytes.Repeat([]byte{'x'}, writeChunk+1000)
		}
		msgs = append(msgs, m)
		want = append(want, m...)
		w.queue(m, wire.Options{})
	}
	w.flush()
	got := make([]byte, len(want))
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes that differ from the %d queued", len(got), len(want))
	}
	waitFor(t, "onSent of every message", func() bool { return len(sentSoFar()) >= len(msgs) })
	sent := sentSoFar()
	if len(sent) != len(msgs) {
		t.Fatalf("onSent saw %d messages, want %d", len(sent), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(sent[i], msgs[i]) {
			t.Fatalf("onSent's message %d is %d bytes of %q, want %d of %q", i, len(sent[i]), sent[i][:1], len(msgs[i]), msgs[i][:1])
		}
	}
}
