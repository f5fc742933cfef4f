// Package control is the lab daemon's control socket: a small protocol of
// JSON lines over a unix socket, a server that runs in the daemon and a
// client used by every other subcommand (shell, cmd, down, ls).
//
// One request per connection. The client writes one Request line; the
// server answers with zero or more Reply lines carrying streamed output
// (Out) and exactly one final Reply with Done set. A client that goes away
// cancels the request's context on the server.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Operations.
const (
	OpPing = "ping" // liveness; final JSON is Hello
	OpInfo = "info" // final JSON is the lab's Info
	OpRun  = "run"  // runs Line in the daemon's shell
	OpDown = "down" // tears the lab down; final reply once everything is gone
	OpWeb  = "web"  // serves the lab's web page (Request.Web); final JSON is WebInfo
)

// Request is what a client sends.
type Request struct {
	Op   string `json:"op"`
	Line string `json:"line,omitempty"`
	// JSON asks for the command's machine-readable result in the final
	// reply instead of text in Out lines.
	JSON bool `json:"json,omitempty"`
	// Terminal says the client shows Out on a terminal: a long command
	// (wait) may then draw its progress in place.
	Terminal bool `json:"terminal,omitempty"`
	// Web is OpWeb's request.
	Web *WebRequest `json:"web,omitempty"`
}

// WebRequest asks the daemon to serve the lab's web page.
type WebRequest struct {
	// Listen is ADDR:PORT; "" means 127.0.0.1 on a free port.
	Listen string `json:"listen,omitempty"`
	// ReadOnly serves the page without its action buttons and endpoints.
	ReadOnly bool `json:"read_only,omitempty"`
}

// WebInfo answers OpWeb: where the page is.
type WebInfo struct {
	// URL opens the page; it carries the access token when there is one.
	URL string `json:"url"`
	// Addr is the address the server listens on.
	Addr     string `json:"addr"`
	ReadOnly bool   `json:"read_only"`
	// Token is set when the page needs one (not bound to loopback).
	Token bool `json:"token"`
	// Existing is set when an identical server already ran.
	Existing bool `json:"existing,omitempty"`
}

// Reply is one line of the server's answer.
type Reply struct {
	Out   string          `json:"out,omitempty"`
	Done  bool            `json:"done,omitempty"`
	OK    bool            `json:"ok,omitempty"`
	Error string          `json:"error,omitempty"`
	JSON  json.RawMessage `json:"json,omitempty"`
}

// Hello answers OpPing.
type Hello struct {
	Lab string `json:"lab"`
	PID int    `json:"pid"`
}

// Info describes a running lab to clients: enough to run commands inside
// its nodes and to complete names, without reading the topology file again.
type Info struct {
	Name  string     `json:"name"`
	File  string     `json:"file"`
	PID   int        `json:"pid"`
	Nodes []NodeInfo `json:"nodes"`
}

// NodeInfo is one node of Info.
type NodeInfo struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "router" or "host"
	// External routers run the user's own daemon, not ours, or the one
	// the lab runs for them: Daemon, "frr" or "bird" (`kind:`), whose
	// files (configuration, vty and control sockets, logs) are in
	// DaemonDir.
	External   bool        `json:"external,omitempty"`
	Daemon     string      `json:"daemon,omitempty"`
	DaemonDir  string      `json:"daemon_dir,omitempty"`
	Namespace  string      `json:"namespace"`
	NSPath     string      `json:"nspath"`
	Interfaces []IfaceInfo `json:"interfaces"`
}

// IfaceInfo is one interface of NodeInfo.
type IfaceInfo struct {
	Name  string         `json:"name"`
	Addrs []netip.Prefix `json:"addrs"`
	Peer  string         `json:"peer"` // the interface at the other end
}

// Node returns the node called name, or nil.
func (in *Info) Node(name string) *NodeInfo {
	for i := range in.Nodes {
		if in.Nodes[i].Name == name {
			return &in.Nodes[i]
		}
	}
	return nil
}

// Handler serves one request. It writes streamed text to w.Out and returns
// the final result: a JSON value (may be nil) or an error.
type Handler interface {
	Serve(ctx context.Context, req Request, out io.Writer) (result any, err error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request, out io.Writer) (any, error)

// Serve calls f.
func (f HandlerFunc) Serve(ctx context.Context, req Request, out io.Writer) (any, error) {
	return f(ctx, req, out)
}

// Listen opens the control socket at path with mode 0600, replacing a stale
// socket left by a dead daemon. It refuses to replace a socket a live
// daemon answers on.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: a running lab already listens there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	// The umask makes the socket 0600 from its creation, with no window in
	// which another user could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Server serves a Handler on a listener.
type Server struct {
	h  Handler
	ln net.Listener
	wg sync.WaitGroup
}

// Serve accepts connections on ln until ctx ends or ln is closed, serving
// each on its own goroutine. It closes ln and waits for requests under way
// before it returns.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	s := &Server{h: h, ln: ln}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(ctx, c)
		}()
	}
	ln.Close()
	s.wg.Wait()
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// replyWriter streams Out lines; safe for concurrent writers (pingall
// writes from several goroutines).
type replyWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
	bw  *bufio.Writer
	err error
}

func (w *replyWriter) send(r Reply) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.enc.Encode(r); err != nil {
		w.err = err
		return err
	}
	w.err = w.bw.Flush()
	return w.err
}

func (w *replyWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.send(Reply{Out: string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	br := bufio.NewReader(c)
	line, err := br.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	bw := bufio.NewWriter(c)
	w := &replyWriter{enc: json.NewEncoder(bw), bw: bw}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		w.send(Reply{Done: true, Error: "bad request: " + err.Error()})
		return
	}
	// The client sends nothing after its request: a read that returns
	// means it hung up, and the request is cancelled (a long pingall, a
	// followed message trace).
	go func() {
		io.Copy(io.Discard, br)
		cancel()
	}()

	res, err := s.h.Serve(ctx, req, w)
	final := Reply{Done: true, OK: err == nil}
	if err != nil {
		final.Error = err.Error()
	}
	if raw, ok := res.(json.RawMessage); ok {
		// Encoded already: a reply the handler keeps (a large lab's Info,
		// asked by every `lab cmd`) is not encoded and copied again.
		final.JSON = raw
	} else if res != nil {
		b, merr := json.Marshal(res)
		if merr != nil {
			final.OK = false
			final.Error = "encoding result: " + merr.Error()
		} else {
			final.JSON = b
		}
	}
	w.send(final)
}

// ErrNotRunning means no daemon answers on the socket.
var ErrNotRunning = errors.New("lab is not running")

// RemoteError is a request the daemon answered with a failure.
type RemoteError struct {
	Msg string
}

func (e *RemoteError) Error() string { return e.Msg }

// Do sends req to the daemon at path, copies streamed output to out (which
// may be nil) and returns the final reply. A failed command returns the
// final reply and a *RemoteError.
func Do(ctx context.Context, path string, req Request, out io.Writer) (*Reply, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (no daemon at %s)", ErrNotRunning, path)
		}
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bufio.NewReader(c))
	for {
		var r Reply
		if err := dec.Decode(&r); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("lab daemon closed the connection before answering %q", req.Op)
			}
			return nil, fmt.Errorf("reading from lab daemon: %w", err)
		}
		if r.Out != "" && out != nil {
			if _, err := io.WriteString(out, r.Out); err != nil {
				return nil, err
			}
		}
		if r.Done {
			if !r.OK {
				return &r, &RemoteError{Msg: r.Error}
			}
			return &r, nil
		}
	}
}

// GetInfo asks the daemon at path for its lab's Info.
func GetInfo(ctx context.Context, path string) (*Info, error) {
	r, err := Do(ctx, path, Request{Op: OpInfo}, nil)
	if err != nil {
		return nil, err
	}
	var in Info
	if err := json.Unmarshal(r.JSON, &in); err != nil {
		return nil, fmt.Errorf("lab daemon sent a bad info reply: %w", err)
	}
	return &in, nil
}

// Alive reports whether a daemon answers on path.
func Alive(ctx context.Context, path string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := Do(ctx, path, Request{Op: OpPing}, nil)
	return err == nil
}
