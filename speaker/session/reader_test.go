package session

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"lab/speaker/wire"
)

// chunkConn is a connection whose reads return what the stream holds in
// chunks of random sizes, then err.
type chunkConn struct {
	net.Conn
	rng    *rand.Rand
	stream []byte
	err    error
}

func (c *chunkConn) Read(b []byte) (int, error) {
	if len(c.stream) == 0 {
		return 0, c.err
	}
	n := min(len(b), len(c.stream), 1+c.rng.IntN(3000))
	copy(b, c.stream[:n])
	c.stream = c.stream[n:]
	return n, nil
}

func rawMessage(size int, seed byte) []byte {
	b := make([]byte, size)
	for i := range 16 {
		b[i] = 0xff
	}
	b[16], b[17], b[18] = byte(size>>8), byte(size), byte(wire.TypeUpdate)
	for i := wire.HeaderLen; i < size; i++ {
		b[i] = seed + byte(i)
	}
	return b
}

// The reader returns every message whole and in order, whatever the
// chunks the connection gives, from the smallest to extended ones; it
// holds no pooled buffer once what it read is consumed; and it reports
// the end of the stream as wire.ReadMessage does.
func TestMsgReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var want [][]byte
	var stream []byte
	for i := range 2000 {
		size := wire.HeaderLen + 4 + rng.IntN(200) // an UPDATE has 23 bytes at least
		switch rng.IntN(20) {
		case 0:
			size = wire.MaxMessageLen
		case 1:
			size = wire.MaxMessageLen + 1 + rng.IntN(20000)
		}
		m := rawMessage(size, byte(i))
		want = append(want, m)
		stream = append(stream, m...)
	}
	c := &chunkConn{rng: rng, stream: stream, err: io.EOF}
	mr := newMsgReader(c)
	for i, w := range want {
		got, err := mr.next(wire.MaxExtendedMessageLen)
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("message %d (%d bytes): got %d bytes, %v", i, len(w), len(got), err)
		}
	}
	if _, err := mr.next(wire.MaxExtendedMessageLen); err != io.EOF {
		t.Errorf("at the end of the stream: %v, want io.EOF", err)
	}
	if mr.big != nil || len(mr.buf) != len(mr.small) {
		t.Errorf("idle reader holds a buffer of %d bytes (pooled: %v)", len(mr.buf), mr.big != nil)
	}

	for name, tc := range map[string]struct {
		stream []byte
		want   error
	}{
		"header cut":  {rawMessage(40, 1)[:10], io.ErrUnexpectedEOF},
		"body cut":    {rawMessage(40, 1)[:30], io.ErrUnexpectedEOF},
		"bad marker":  {append([]byte{0}, rawMessage(40, 1)[1:]...), nil},
		"over length": {rawMessage(wire.MaxMessageLen+1, 1), nil},
	} {
		mr := newMsgReader(&chunkConn{rng: rng, stream: tc.stream, err: io.EOF})
		_, err := mr.next(wire.MaxMessageLen)
		var we *wire.Error
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		case tc.want == nil && !errors.As(err, &we):
			t.Errorf("%s: %v, want a header error to notify", name, err)
		}
	}
}
