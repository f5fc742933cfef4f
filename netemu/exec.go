package netemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// execMarker is argv[0] of the helper process Command starts: the binary
// re-executes itself (/proc/self/exe) with this argv[0], and this package's
// init enters the namespace and executes the real program. argv rather
// than the environment carries the request, because callers commonly
// replace cmd.Env.
const execMarker = "lab-netemu-nsexec"

func init() {
	if len(os.Args) >= 3 && os.Args[0] == execMarker {
		nsExec(os.Args[1], os.Args[2], os.Args[2:])
	}
}

// Command returns a command that runs name with args inside the network
// namespace registered at nsPath (NamespacePath's value), like `ip netns
// exec`: the program also gets a mount namespace of its own in which /sys
// is a sysfs of that network namespace, so tools reading /sys/class/net
// see the node's interfaces. The caller only needs the path, not a Lab (a
// client process can use it), and may set the command's Stdin, Stdout,
// Env, etc. as usual; it must not change Path or Args.
//
// It works by re-executing the running binary (/proc/self/exe), which must
// therefore import this package; the helper enters the namespace and
// replaces itself with the program, so the program's pid, signals and
// exit status are the command's. A missing program exits 127, as in a
// shell; a namespace that cannot be entered exits 126.
func Command(nsPath string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = append([]string{execMarker, nsPath, name}, args...)
	return cmd
}

// nsExec is the helper's side of Command: it never returns.
func nsExec(nsPath, name string, argv []string) {
	fail := func(code int, err error) {
		fmt.Fprintf(os.Stderr, "lab: %s: %v\n", name, err)
		os.Exit(code)
	}
	// The namespaces are the calling thread's: execve keeps this thread's
	// and drops the others.
	runtime.LockOSThread()
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail(126, fmt.Errorf("opening network namespace: %w", err))
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		fail(126, fmt.Errorf("entering network namespace %s: %w", nsPath, err))
	}
	unix.Close(fd)
	remountSys()
	path, err := exec.LookPath(name)
	if err != nil && !errors.Is(err, exec.ErrDot) {
		fail(127, err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	fail(126, err)
}

// remountSys gives the thread a mount namespace whose /sys shows the
// current network namespace, as `ip netns exec` does. It is best effort:
// without it only tools that read /sys/class/net see the wrong
// interfaces.
func remountSys() {
	if unix.Unshare(unix.CLONE_NEWNS) != nil {
		return
	}
	// Our mounts must not propagate back to the host's mount namespace.
	if unix.Mount("", "/", "none", unix.MS_SLAVE|unix.MS_REC, "") != nil {
		return
	}
	var flags uintptr
	var sfs unix.Statfs_t
	if unix.Statfs("/sys", &sfs) == nil && sfs.Flags&unix.ST_RDONLY != 0 {
		flags = unix.MS_RDONLY
	}
	if unix.Unmount("/sys", unix.MNT_DETACH) != nil {
		return
	}
	unix.Mount("sysfs", "/sys", "sysfs", flags, "")
}
