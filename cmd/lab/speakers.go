package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"lab/exabgp"
	"lab/speaker"
	"lab/speakerconf"
)

// startSpeakers creates every router's speaker and opens all their
// listeners before any of them dials, so the first connection of every
// session finds its peer listening and no session waits a connect-retry.
func (d *labDaemon) startSpeakers(ctx context.Context, progress func(string, ...any)) error {
	t := time.Now()
	var sps []*speaker.Speaker
	fail := func(err error) error {
		d.stopAPIs()
		for _, sp := range sps {
			sp.Close()
		}
		d.env.Routers = nil
		return err
	}
	for _, r := range d.model.Routers {
		if r.External {
			continue
		}
		cfg, err := speakerconf.Config(d.model, r, d.net.NamespacePath(r.Name))
		if err != nil {
			return fail(err)
		}
		cfg.Log = &prefixWriter{prefix: r.Name + ": ", w: os.Stdout}
		sp, err := speaker.New(cfg)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", r.Name, err))
		}
		sps = append(sps, sp)
		d.env.Routers[r.Name] = sp
		// Its programs watch it from before its sessions start.
		acfg, ok, err := speakerconf.API(d.model, r, sp, d.net.NamespacePath(r.Name))
		if err != nil {
			return fail(err)
		}
		if ok {
			api, err := exabgp.New(acfg)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", r.Name, err))
			}
			d.apis = append(d.apis, api)
		}
	}
	if err := eachSpeaker(sps, func(sp *speaker.Speaker) error { return sp.Listen() }); err != nil {
		return fail(err)
	}
	if err := eachSpeaker(sps, func(sp *speaker.Speaker) error { return sp.Prepare(ctx) }); err != nil {
		return fail(err)
	}
	// The programs start before the sessions, as ExaBGP starts its
	// processes before its peers: their first announcements go out in
	// the first UPDATEs. One that cannot start is in its router's log and
	// on the daemon's output; the lab runs without it.
	for _, api := range d.apis {
		if err := api.Start(); err != nil {
			progress("*** %v", err)
		}
	}
	for _, sp := range sps {
		if err := sp.Start(ctx); err != nil {
			return fail(fmt.Errorf("%s: %w", sp.Config().Name, err))
		}
	}
	if len(sps) > 0 {
		progress("*** Started %d BGP speakers (%.2fs)", len(sps), time.Since(t).Seconds())
	}
	return nil
}

// eachSpeaker calls fn for every speaker, from one goroutine per
// processor, and returns the first speaker's error in their order. Opening
// a speaker's sockets and its kernel tables (Listen, Prepare) is mostly the
// kernel's work and a thread per namespace entered: in turn, it took 0.9 s
// of a 1,000-router lab's start on two processors.
func eachSpeaker(sps []*speaker.Speaker, fn func(*speaker.Speaker) error) error {
	errs := make([]error, len(sps))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(sps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(sps); i = int(next.Add(1) - 1) {
				errs[i] = fn(sps[i])
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", sps[i].Config().Name, err)
		}
	}
	return nil
}

// stopSpeakers closes every speaker in parallel: each sends Cease to its
// peers and removes its kernel routes.
func (d *labDaemon) stopSpeakers() {
	// The programs first, as ExaBGP stops its processes before its
	// peers' sessions end: they read the shutdown notice, not the
	// sessions going down.
	d.stopAPIs()
	if d.env == nil {
		return
	}
	var wg sync.WaitGroup
	for name, sp := range d.env.Routers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sp.Close(); err != nil {
				fmt.Printf("*** %s: %v\n", name, err)
			}
		}()
	}
	wg.Wait()
}

// stopAPIs stops every router's programs, in parallel.
func (d *labDaemon) stopAPIs() {
	var wg sync.WaitGroup
	for _, api := range d.apis {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := api.Close(); err != nil {
				fmt.Printf("*** %v\n", err)
			}
		}()
	}
	wg.Wait()
	d.apis = nil
}

// prefixWriter prefixes every line with a router's name in the daemon's
// log, where all routers write.
type prefixWriter struct {
	prefix string
	w      io.Writer
	mu     sync.Mutex
	buf    []byte
}

var logMu sync.Mutex // one line at a time in the shared log

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		logMu.Lock()
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		logMu.Unlock()
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
