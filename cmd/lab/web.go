package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"

	"lab/control"
	"lab/web"
)

// cmdWeb is `lab web NAME [--listen ADDR:PORT] [--read-only]`: the daemon
// starts serving the lab's page (package web) and the URL is printed.
func cmdWeb(args []string) error {
	const usage = "usage: lab web NAME [--listen ADDR:PORT] [--read-only]"
	listen, args, _ := flagValue(args, "--listen", "-l")
	readOnly, args := flagBool(args, "--read-only", "--readonly")
	if len(args) != 1 {
		return errors.New(usage)
	}
	name := args[0]
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab web needs root: the lab's control socket is root's only (try: sudo lab web %s)", name)
	}
	r, err := control.Do(context.Background(), socketPath(name), control.Request{Op: control.OpWeb, Web: &control.WebRequest{Listen: listen, ReadOnly: readOnly}}, nil)
	if errors.Is(err, control.ErrNotRunning) {
		return fmt.Errorf("no running lab called %s (lab ls lists them)", name)
	}
	if err != nil {
		return err
	}
	var in control.WebInfo
	if err := json.Unmarshal(r.JSON, &in); err != nil {
		return fmt.Errorf("lab daemon sent a bad web reply: %w", err)
	}
	what := "web page"
	if in.ReadOnly {
		what = "read-only web page"
	}
	if in.Existing {
		what += " (already served)"
	}
	fmt.Printf("*** lab %s: %s at %s\n", name, what, in.URL)
	if in.Token {
		for _, u := range webURLs(in) {
			fmt.Printf("***   or %s\n", u)
		}
		fmt.Printf("*** it listens on %s, beyond this machine: the URL's token is its key; share it only with those who may use it\n", in.Addr)
	}
	return nil
}

// webURLs names a server that listens on every address by this machine's
// addresses too (a class may not resolve its host name).
func webURLs(in control.WebInfo) []string {
	ap, err := netip.ParseAddrPort(in.Addr)
	if err != nil || !ap.Addr().IsUnspecified() {
		return nil
	}
	u, err := url.Parse(in.URL)
	if err != nil {
		return nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || !p.Addr().IsGlobalUnicast() || ap.Addr().Is4() && !p.Addr().Is4() {
			continue
		}
		v := *u
		v.Host = net.JoinHostPort(p.Addr().String(), strconv.Itoa(int(ap.Port())))
		out = append(out, v.String())
	}
	return out
}

// webServers are a daemon's web pages (package web); they stop with the
// lab. mu guards lab, created by the first `lab web`.
type webServers struct {
	mu      sync.Mutex
	lab     *web.Lab
	stopped bool // the lab is going: no new pages
}

// web answers OpWeb: the server asked for, started unless one with the
// same options runs already.
func (d *labDaemon) web(req control.Request) (*control.WebInfo, error) {
	opts := web.Options{}
	if req.Web != nil {
		opts = web.Options{Listen: req.Web.Listen, ReadOnly: req.Web.ReadOnly}
	}
	if opts.Listen == "" {
		opts.Listen = web.DefaultListen
	}
	info := func(s *web.Server, existing bool) *control.WebInfo {
		return &control.WebInfo{URL: s.URL(), Addr: s.Addr().String(), ReadOnly: s.Options().ReadOnly, Token: s.NeedsToken(), Existing: existing}
	}
	w := &d.webs
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return nil, errors.New("the lab is stopping")
	}
	if w.lab == nil {
		l, err := web.NewLab(d.env)
		if err != nil {
			return nil, err
		}
		w.lab = l
	}
	for _, s := range w.lab.Servers() {
		if s.Options() == opts {
			return info(s, true), nil
		}
	}
	s, err := w.lab.Serve(opts)
	if err != nil {
		return nil, err
	}
	ro := ""
	if opts.ReadOnly {
		ro = ", read-only"
	}
	fmt.Printf("*** web page on %s (token: %v%s)\n", s.Addr(), s.NeedsToken(), ro)
	return info(s, false), nil
}

// pokeWeb tells the web pages a command ran: the links may have moved.
func (d *labDaemon) pokeWeb() {
	w := &d.webs
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lab != nil {
		w.lab.Poke()
	}
}

// stopWeb stops the web pages, before the speakers they watch.
func (d *labDaemon) stopWeb() {
	w := &d.webs
	w.mu.Lock()
	l := w.lab
	w.lab, w.stopped = nil, true
	w.mu.Unlock()
	if l != nil {
		l.Close()
	}
}
