package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"lab/daemons"
	"lab/topo"
)

// checkDaemons fails before anything is built when a router's daemon
// (kind: frr or bird) is not installed.
func checkDaemons(m *topo.Lab) error {
	seen := map[topo.Daemon]bool{}
	for _, r := range m.Routers {
		if r.Daemon == topo.DaemonNone || seen[r.Daemon] {
			continue
		}
		seen[r.Daemon] = true
		if err := daemons.Installed(r.Daemon); err != nil {
			return fmt.Errorf("router %s: %w", r.Name, err)
		}
	}
	return nil
}

// startDaemons starts the FRR and BIRD routers (kind: frr, kind: bird),
// each in its namespace with its files in <lab dir>/<router>, BIRD's
// first: BIRD waits seconds before it dials, FRR dials at once and finds
// them listening. They start before the lab's speakers, which dial them
// as they start.
func (d *labDaemon) startDaemons(ctx context.Context, progress func(string, ...any)) error {
	t := time.Now()
	var todo [2][]*topo.Router
	for _, r := range d.model.Routers {
		switch r.Daemon {
		case topo.DaemonBIRD:
			todo[0] = append(todo[0], r)
		case topo.DaemonFRR:
			todo[1] = append(todo[1], r)
		}
	}
	if len(todo[0])+len(todo[1]) == 0 {
		return nil
	}
	dir, err := d.net.Dir()
	if err != nil {
		return err
	}
	var mu sync.Mutex // guards d.env.Daemons and errs while they start
	var errs []error
	for _, rs := range todo {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rd, err := daemons.Start(ctx, d.model, r, d.net.NamespacePath(r.Name), filepath.Join(dir, r.Name))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				d.env.Daemons[r.Name] = rd
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			d.stopDaemons()
			return errs[0]
		}
	}
	progress("*** Started %d FRR and %d BIRD routers (%.2fs)", len(todo[1]), len(todo[0]), time.Since(t).Seconds())
	return nil
}

// stopDaemons stops the FRR and BIRD routers in parallel.
func (d *labDaemon) stopDaemons() {
	if d.env == nil {
		return
	}
	var wg sync.WaitGroup
	for name, rd := range d.env.Daemons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rd.Stop(); err != nil {
				fmt.Printf("*** %s: %v\n", name, err)
			}
		}()
	}
	wg.Wait()
}
