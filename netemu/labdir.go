package netemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Dir returns the lab's directory, <RunDir>/<lab>.d (State.Dir), made if
// needed: files its owner keeps for the lab while it runs (the
// configurations, sockets and logs of the FRR and BIRD routers) go there.
// Close removes it, and Clean does after a crash, with the state file.
func (l *Lab) Dir() (string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return "", ErrClosed
	}
	d := ownedDir(l.opts.RunDir, l.model.Name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("lab %s: %w", l.model.Name, err)
	}
	return d, nil
}

// removeDir removes the lab's directory, if it made one.
func (l *Lab) removeDir() error {
	d := ownedDir(l.opts.RunDir, l.model.Name)
	if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := removeTree(d); err != nil {
		return fmt.Errorf("removing the lab's directory: %w", err)
	}
	return nil
}
