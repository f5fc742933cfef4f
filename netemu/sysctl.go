package netemu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sysctl is one /proc/sys/net setting. Written by a thread inside a
// namespace, it sets that namespace's value: /proc/sys/net resolves
// against the writer's network namespace.
type sysctl struct{ key, value string }

// commonSysctls are set in every node's namespace, right after it is
// created and before any interface exists, so that the "default" values
// are inherited by every interface.
var commonSysctls = []sysctl{
	// Addresses are usable at once: no duplicate address detection,
	// link-local addresses included. A lab has no duplicates to detect,
	// and DAD would delay every session and ping by a second or two after
	// each link comes up.
	{"ipv6/conf/all/accept_dad", "0"},
	{"ipv6/conf/default/accept_dad", "0"},
	// An interface taken down and up keeps its IPv6 addresses, as its IPv4
	// ones (the seed had to re-add 2001:12::b by hand after
	// `ip link set dev as2rb-eth0 down/up`; we do not).
	{"ipv6/conf/all/keep_addr_on_down", "1"},
	{"ipv6/conf/default/keep_addr_on_down", "1"},
	// ICMP echo through datagram sockets (socket(AF_INET, SOCK_DGRAM,
	// IPPROTO_ICMP)) for every group, root included: that is how pingall
	// and unprivileged ping(8) send echoes. The kernel default "1 0" allows
	// nobody.
	{"ipv4/ping_group_range", "0 2147483647"},
	// New namespaces inherit IPv4 settings from the host's: a host with
	// strict reverse-path filtering would drop traffic on asymmetric BGP
	// paths, which a lab shows on purpose.
	{"ipv4/conf/all/rp_filter", "0"},
	{"ipv4/conf/default/rp_filter", "0"},
	// No per-destination ICMP rate limit: traceroute and pingall, run again
	// and again in class, must not show "* * *" because a router rationed
	// its Time Exceeded messages. (The global icmp_msgs_per_sec limit
	// stays.)
	{"ipv4/icmp_ratelimit", "0"},
	{"ipv6/icmp/ratelimit", "0"},
}

// routerSysctls are set in addition on routers: IPv4 and IPv6 forwarding
// (ip_forward and all.forwarding also set the "default" values, so every
// interface created later forwards too).
var routerSysctls = []sysctl{
	{"ipv4/ip_forward", "1"},
	{"ipv6/conf/all/forwarding", "1"},
}

func nodeSysctls(router bool) []sysctl {
	if router {
		return append(commonSysctls[:len(commonSysctls):len(commonSysctls)], routerSysctls...)
	}
	return commonSysctls
}

// writeSysctls writes each setting in the calling thread's namespace.
func writeSysctls(list []sysctl) error {
	for _, s := range list {
		if err := writeSysctl(s); err != nil {
			return err
		}
	}
	return nil
}

func writeSysctl(s sysctl) error {
	path := "/proc/sys/net/" + s.key
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		_, err = unix.Write(fd, []byte(s.value))
		unix.Close(fd)
	}
	if err != nil {
		return fmt.Errorf("sysctl net.%s=%s: %w", strings.ReplaceAll(s.key, "/", "."), s.value, err)
	}
	return nil
}

// readSysctl reads a setting in the calling thread's namespace.
func readSysctl(key string) (string, error) {
	fd, err := unix.Open("/proc/sys/net/"+key, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	b := make([]byte, 256)
	n, err := unix.Read(fd, b)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// Mininet's neighbour table thresholds (mininet/util.py fixLimits), the
// least Build leaves the host with.
const (
	minGCThresh1 = 4096
	minGCThresh2 = 8192
	minGCThresh3 = 16384
)

// raiseNeighLimits makes the kernel's neighbour tables big enough for the
// lab. The ARP and NDP tables are global, shared by every namespace, and
// their thresholds (net.ipv{4,6}.neigh.default.gc_thresh{1,2,3}) exist
// only in the initial namespace: the default gc_thresh3 of 1024 entries is
// less than a 200-router lab needs (each link end learns the other's
// address, and in IPv6 its link-local address too), and past it every new
// neighbour fails with "neighbor table overflow" and ENOBUFS, in this lab
// and in every other on the machine. Like Mininet, Build only ever raises
// them, to at least Mininet's values and to four times what the lab needs.
// It must run on a thread in the initial namespace; elsewhere the files do
// not exist and it does nothing.
func raiseNeighLimits(links int) (changed []string, err error) {
	need := 4 * links // per family: both ends, plus IPv6 link-locals
	want := []int{max(minGCThresh1, need), max(minGCThresh2, 2*need), max(minGCThresh3, 4*need)}
	for _, fam := range []string{"ipv4", "ipv6"} {
		for i, w := range want {
			key := fmt.Sprintf("%s/neigh/default/gc_thresh%d", fam, i+1)
			cur, err := readSysctl(key)
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					return changed, nil // not the initial namespace
				}
				return changed, fmt.Errorf("sysctl net.%s: %w", strings.ReplaceAll(key, "/", "."), err)
			}
			if n, err := strconv.Atoi(cur); err == nil && n >= w {
				continue
			}
			if err := writeSysctl(sysctl{key, strconv.Itoa(w)}); err != nil {
				return changed, err
			}
			changed = append(changed, fmt.Sprintf("net.%s=%d", strings.ReplaceAll(key, "/", "."), w))
		}
	}
	return changed, nil
}
