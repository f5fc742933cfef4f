// Package web serves a running lab's live web page: the topology as
// package diagram draws it, with every link coloured by its state and every
// BGP session by its FSM state, updated through server-sent events within
// a fraction of a second of a change; a router's panel (its BGP tables,
// neighbours and log: the shell's JSON show commands); a ticker of the BGP
// messages the speakers exchange; a host×host reachability matrix that
// pingall fills; and buttons for `link A B down|up|blackhole|restore`,
// `ROUTER clear bgp *` and pingall, which run through the shell's
// commands (commands.Env.Run) exactly as typed ones do.
//
// The server runs inside the lab daemon (`lab web NAME` asks it to start
// one) and stops with the lab. Every asset is embedded: the page works on
// a machine without Internet access.
//
// # Access
//
// The daemon's control socket is root's only; a web server is a door
// anyone who reaches its port can open. So:
//
//   - by default it listens on 127.0.0.1 only, and then refuses requests
//     whose Host is not a loopback name (a DNS-rebinding page would send
//     its own);
//   - bound to any other address, every request needs the server's random
//     token: in the URL the daemon prints (?token=...), after which the
//     page keeps it in a cookie, or in the X-Lab-Token header;
//   - every action is a POST carrying the token in X-Lab-Token (the page
//     has it; another site's page can neither read it nor send the header
//     without a CORS preflight this server never allows);
//   - with ReadOnly there are no action endpoints at all: a POST gets 403,
//     and the page has no buttons.
//
// # Endpoints
//
//	GET  /                 the page (the diagram's SVG inlined)
//	GET  /static/...       its script and style sheet
//	GET  /api/diagram      the diagram's JSON (diagram.Diagram)
//	GET  /api/state        link and session states now (State)
//	GET  /api/events       server-sent events: "snapshot" (a State, first),
//	                       "update" (the entries of a State that changed),
//	                       "msgs" (ticker messages), "ping" (a pingall's
//	                       result), "action" (an action's line and output)
//	GET  /api/router/NAME  the router's panel: its show commands' JSON and text
//	POST /api/link         {"link": I, "op": "down|up|blackhole|restore"}
//	POST /api/clear        {"router": NAME, "soft": false}
//	POST /api/pingall      {}
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lab/cli/commands"
	"lab/diagram"
)

// DefaultListen is where a server listens when Options.Listen is empty: a
// free port of the loopback address.
const DefaultListen = "127.0.0.1:0"

// Options are a server's settings.
type Options struct {
	// Listen is ADDR:PORT (DefaultListen when empty). A port of 0 picks a
	// free one.
	Listen string
	// ReadOnly serves no actions: no buttons, and every POST refused.
	ReadOnly bool
}

// Lab is what a lab's pages share: the picture, the state watcher, the
// message ticker, and the notes (actions, pingall's last matrix) every
// page gets, whichever server it came from: a teacher's page on loopback
// and the students' read-only one show the same lab.
type Lab struct {
	env  *commands.Env
	diag *diagram.Diagram
	svg  []byte // the diagram's SVG, without its XML declaration

	ctx    context.Context // ends when the Lab closes
	cancel context.CancelFunc
	wg     sync.WaitGroup // the watcher

	watch  *watcher
	ticker *ticker
	// clients counts open event streams, of every server.
	clients atomic.Int32

	// pingMu makes pingalls run one at a time; lastPing (guarded by
	// lastMu) is the last result, sent to new pages.
	pingMu   sync.Mutex
	lastMu   sync.Mutex
	lastPing []byte
	// acts fans action results out to the event streams.
	acts *fanout

	// mu guards servers.
	mu      sync.Mutex
	servers []*Server
}

// NewLab starts watching env's lab for its pages. The lab's speakers and
// data plane must outlive it (Close it first).
func NewLab(env *commands.Env) (*Lab, error) {
	l := &Lab{env: env, diag: diagram.New(env.Lab), acts: newFanout()}
	var svg strings.Builder
	if err := l.diag.WriteSVG(&svg); err != nil {
		return nil, err
	}
	text := svg.String()
	if i := strings.Index(text, "?>"); strings.HasPrefix(text, "<?xml") && i >= 0 {
		text = strings.TrimLeft(text[i+2:], "\n")
	}
	l.svg = []byte(text)
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.watch = newWatcher(env)
	l.ticker = newTicker(env, l.watch.ends)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.watch.run(l.ctx, &l.clients)
	}()
	return l, nil
}

// Poke makes the lab's pages read the links' states again now: a command
// may have changed them (the daemon pokes after every shell command).
func (l *Lab) Poke() { l.watch.poke() }

// Servers returns the running servers.
func (l *Lab) Servers() []*Server {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Server(nil), l.servers...)
}

// Close stops every server and the watcher: open pages lose their
// connection.
func (l *Lab) Close() error {
	l.mu.Lock()
	list := l.servers
	l.servers = nil
	l.mu.Unlock()
	for _, s := range list {
		s.close()
	}
	l.cancel()
	l.wg.Wait()
	l.ticker.stopAll()
	return nil
}

// Server is one web server of a lab.
type Server struct {
	*Lab
	opts Options
	// token authenticates actions always, and every request when the
	// server is not bound to loopback (needToken).
	token     string
	needToken bool
	addr      net.Addr
	http      *http.Server
	done      chan struct{} // closed when Serve returned
}

// maxClients bounds the open event streams (a classroom's browsers).
const maxClients = 256

// Serve listens on opts.Listen and serves the lab's page there until the
// Lab closes.
func (l *Lab) Serve(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: want ADDR:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080)", opts.Listen)
	}
	s := &Server{Lab: l, opts: opts, needToken: !loopbackHost(host), done: make(chan struct{})}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s.token = hex.EncodeToString(b)
	if l.ctx.Err() != nil {
		return nil, errors.New("web: the lab is stopping")
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s.addr = ln.Addr()
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return l.ctx },
	}
	l.mu.Lock()
	l.servers = append(l.servers, s)
	l.mu.Unlock()
	go func() {
		defer close(s.done)
		s.http.Serve(ln)
	}()
	return s, nil
}

func (s *Server) close() {
	s.http.Close()
	<-s.done
}

// Options returns the server's options, Listen as asked for.
func (s *Server) Options() Options { return s.opts }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// NeedsToken reports whether every request needs the token (the server is
// not bound to loopback).
func (s *Server) NeedsToken() bool { return s.needToken }

// URL opens the page: with the token when one is needed. A server bound
// to every address is named by this machine's host name.
func (s *Server) URL() string {
	ap, err := netip.ParseAddrPort(s.addr.String())
	host := s.addr.String()
	if err == nil {
		switch a := ap.Addr().Unmap(); {
		case a.IsUnspecified():
			name, err := os.Hostname()
			if err != nil || name == "" {
				name = "localhost"
			}
			host = net.JoinHostPort(name, fmt.Sprint(ap.Port()))
		default:
			host = net.JoinHostPort(a.String(), fmt.Sprint(ap.Port()))
		}
	}
	u := url.URL{Scheme: "http", Host: host, Path: "/"}
	if s.needToken {
		u.RawQuery = "token=" + s.token
	}
	return u.String()
}

// loopbackHost reports whether host (of ADDR:PORT) names loopback only.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// errReadOnly refuses actions of a read-only server.
var errReadOnly = errors.New("this page is read-only: no actions")
