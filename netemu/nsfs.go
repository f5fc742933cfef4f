package netemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// nsID identifies a network namespace: the device and inode of its nsfs
// file, the same for /proc/<pid>/ns/net, an open namespace fd and the bind
// mount under /run/netns.
type nsID struct{ dev, ino uint64 }

func (id nsID) String() string { return fmt.Sprintf("net:[%d]", id.ino) }

// nsIDOfFd returns the identity of the namespace fd refers to.
func nsIDOfFd(fd int) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nsID{}, err
	}
	return nsID{st.Dev, st.Ino}, nil
}

// nsIDOfPath returns the identity of the namespace mounted at path, and
// false when path is not a namespace (e.g. the empty placeholder file of a
// registration whose bind mount was never made).
func nsIDOfPath(path string) (nsID, bool) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil || sfs.Type != unix.NSFS_MAGIC {
		return nsID{}, false
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, false
	}
	return nsID{st.Dev, st.Ino}, true
}

// openThreadNS opens the network namespace of the calling thread.
func openThreadNS() (int, error) {
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the thread's network namespace: %w", err)
	}
	return fd, nil
}

// netnsDirMu serializes preparing /run/netns within this process.
var netnsDirMu sync.Mutex

// prepareNetnsDir makes /run/netns exist and be a shared mount point, as
// iproute2 does before registering a namespace: the bind mounts we make in
// it then propagate to the mount namespaces of processes started earlier by
// `ip netns exec`, and their removal propagates too.
func prepareNetnsDir() error {
	netnsDirMu.Lock()
	defer netnsDirMu.Unlock()
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", netnsDir, err)
	}
	err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		// Not a mount point yet: bind it onto itself, then share it.
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mounting %s onto itself: %w", netnsDir, err)
		}
		err = unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("making %s a shared mount: %w", netnsDir, err)
	}
	return nil
}

// registerThreadNS registers the calling thread's network namespace under
// /run/netns/name, exactly as `ip netns add` does: an empty file, then a
// bind mount of the namespace onto it. The file is created exclusively, so
// a namespace that already exists under that name is never taken over.
func registerThreadNS(name string) error {
	path := filepath.Join(netnsDir, name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o444)
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: %w", path, ErrNamespaceExists)
		}
		return fmt.Errorf("creating %s: %w", path, err)
	}
	unix.Close(fd)
	if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fmt.Errorf("bind-mounting the namespace on %s: %w", path, err)
	}
	return nil
}

// unregisterNS removes the registration of namespace name: detach the bind
// mount (the namespace itself goes away with its last reference) and remove
// the file. A registration that is already gone is not an error.
func unregisterNS(name string) error {
	path := filepath.Join(netnsDir, name)
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		// EINVAL: not a mount point (placeholder file of a registration
		// interrupted before its mount); the file is still removed.
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}
