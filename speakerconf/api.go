package speakerconf

import (
	"fmt"
	"path/filepath"

	"lab/exabgp"
	"lab/speaker"
	"lab/topo"
)

// API returns the configuration of the runner of router r's programs
// (ExaBGP's API, `api:` in the topology): they run in its namespace, at
// nsPath, from the topology file's directory, so that a program written
// relative to the file is found whatever the daemon's directory. ok is
// false when r runs none.
func API(l *topo.Lab, r *topo.Router, sp *speaker.Speaker, nsPath string) (cfg exabgp.Config, ok bool, err error) {
	if len(r.API) == 0 {
		return exabgp.Config{}, false, nil
	}
	cfg = exabgp.Config{Speaker: sp, Namespace: nsPath, Host: r.Name}
	if l.File != "" {
		if cfg.Dir, err = filepath.Abs(filepath.Dir(l.File)); err != nil {
			return exabgp.Config{}, false, err
		}
	}
	for _, p := range r.API {
		rcv, err := exabgp.ParseReceive(p.Receive)
		if err != nil {
			return exabgp.Config{}, false, fmt.Errorf("%s: process %s: %w", r.Name, p.Name, err)
		}
		cfg.Processes = append(cfg.Processes, exabgp.Process{Name: p.Name, Run: p.Run, Text: p.Encoder == "text",
			Receive: rcv, NoAck: !p.Ack})
	}
	return cfg, true, nil
}
