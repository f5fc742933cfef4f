package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func startServer(t *testing.T, h Handler) (string, context.CancelFunc, chan error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return path, cancel, done
}

func TestRoundTrip(t *testing.T) {
	path, _, _ := startServer(t, HandlerFunc(func(ctx context.Context, req Request, out io.Writer) (any, error) {
		switch req.Line {
		case "stream":
			for i := 0; i < 3; i++ {
				fmt.Fprintf(out, "line %d\n", i)
			}
			return map[string]int{"n": 3}, nil
		case "fail":
			fmt.Fprintln(out, "partial")
			return nil, errors.New("it broke")
		case "raw":
			return json.RawMessage(`{"n": [1, 2]}`), nil
		}
		return nil, nil
	}))

	var out strings.Builder
	rep, err := Do(context.Background(), path, Request{Op: OpRun, Line: "stream"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "line 0\nline 1\nline 2\n"; got != want {
		t.Errorf("streamed output = %q, want %q", got, want)
	}
	var v map[string]int
	if err := json.Unmarshal(rep.JSON, &v); err != nil || v["n"] != 3 {
		t.Errorf("final JSON = %s (%v), want {\"n\":3}", rep.JSON, err)
	}

	// An encoded result goes as it is (compacted), not encoded again.
	rep, err = Do(context.Background(), path, Request{Op: OpRun, Line: "raw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(rep.JSON), `{"n":[1,2]}`; got != want {
		t.Errorf("final JSON of an encoded result = %s, want %s", got, want)
	}

	out.Reset()
	_, err = Do(context.Background(), path, Request{Op: OpRun, Line: "fail"}, &out)
	var re *RemoteError
	if !errors.As(err, &re) || re.Msg != "it broke" {
		t.Errorf("error = %v, want RemoteError \"it broke\"", err)
	}
	if out.String() != "partial\n" {
		t.Errorf("output before failure = %q", out.String())
	}
}

func TestSocketMode(t *testing.T) {
	path, _, _ := startServer(t, HandlerFunc(func(context.Context, Request, io.Writer) (any, error) { return nil, nil }))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("socket mode = %o, want 600", m)
	}
}

func TestListenRefusesLiveSocketReplacesStale(t *testing.T) {
	path, _, _ := startServer(t, HandlerFunc(func(context.Context, Request, io.Writer) (any, error) { return nil, nil }))
	if _, err := Listen(path); err == nil {
		t.Fatal("Listen on a live daemon's socket succeeded")
	}

	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := Listen(stale)
	if err != nil {
		t.Fatal(err)
	}
	// A listener closed without unlinking leaves a socket nobody answers,
	// as a SIGKILLed daemon does.
	ln.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("stale socket should still exist: %v", err)
	}
	ln2, err := Listen(stale)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln2.Close()
}

func TestClientHangupCancelsRequest(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	path, _, _ := startServer(t, HandlerFunc(func(ctx context.Context, req Request, out io.Writer) (any, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Do(ctx, path, Request{Op: OpRun, Line: "block"}, nil)
		errc <- err
	}()
	<-started
	cancel()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("server request not cancelled after the client hung up")
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client error = %v, want context.Canceled", err)
	}
}

func TestNotRunning(t *testing.T) {
	_, err := Do(context.Background(), filepath.Join(t.TempDir(), "none.sock"), Request{Op: OpPing}, nil)
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("err = %v, want ErrNotRunning", err)
	}
	if Alive(context.Background(), filepath.Join(t.TempDir(), "none.sock")) {
		t.Error("Alive on a missing socket")
	}
}
