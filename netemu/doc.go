// Package netemu is the lab's data plane: it turns a *topo.Lab into
// network namespaces, veth pairs, bridges, addresses, sysctls and the
// hosts' default routes; it takes links down and up and blackholes them on
// a running lab; it tears a lab down, and cleans what a crashed lab left.
//
// # Names and ownership
//
// Node N of lab L lives in the network namespace L-N, registered as
// `ip netns add` registers one: an empty file /run/netns/L-N with the
// namespace bind-mounted on it, /run/netns being a shared mount point
// (made so if needed, as iproute2 does) so that the registration and its
// removal propagate to the mount namespaces of running `ip netns exec`
// processes. `ip netns exec L-N …`, `ip -n L-N …` and `nsenter
// --net=/run/netns/L-N` all work.
//
// Before the first namespace is created, Build writes the lab's state file
// <RunDir>/L.json (RunDir is /run/lab unless Options.RunDir or
// $LAB_RUN_DIR say otherwise) with the daemon's pid and start time, the
// topology file, the control socket and every namespace the lab will
// create. The file is published with link(2), so two daemons cannot claim
// one lab. It is removed last, by Close or by Clean. Lab names match
// [a-z0-9][a-z0-9-]{0,19} and every namespace of L starts with "L-": a
// state file that names anything else is refused, so Clean can only ever
// remove what a lab created.
//
// Clean reads every state file whose daemon is dead (no such pid, a zombie,
// or a pid recycled by another process: the start time differs), ends the
// processes running in its namespaces, removes the registrations, the
// socket and the state file. It leaves alone labs whose daemon runs, and
// anything no state file names. Build does the same for a dead lab of its
// own name before claiming it, and refuses with ErrRunning when the lab's
// daemon is alive, or with ErrNamespaceExists when a namespace it needs is
// registered by someone else.
//
// A test run keeps a state file of the same format in the same directory
// (Kind KindTest), through a Record: claimed for the test binary's pid,
// added to as it creates namespaces (before each exists) and starts
// processes (pid and start time), with a directory <RunDir>/<name>.d for
// its files, where the state directories of the labs it builds are too.
// Its processes carry its name in $LAB_OWNER (OwnerEnv), and so do theirs.
// For a dead state file Clean also ends the processes it recorded and
// those carrying its mark, cleans the state files in its directory, and
// removes the directory.
//
// # Building
//
// Build works in seven phases, each parallel over Options.Parallel workers,
// each finished before the next starts:
//
//  1. Namespaces. A thread locked to its goroutine unshares a new network
//     namespace, registers it, opens an fd on it, writes its sysctls, opens
//     the build's rtnetlink sockets in it (a socket belongs for life to the
//     namespace it was created in, whatever thread uses it later), brings
//     lo up, and is never used again: its goroutine exits still locked and
//     the Go runtime ends the thread (internal/nsthread), so no goroutine
//     ever runs on a thread left in a lab namespace. The build's sockets
//     are closed when Build returns: the built lab holds one descriptor
//     per namespace, its fd, and an operation that needs a namespace's
//     sockets later (SetLink, SetInterface, LinkStatus, the underlay)
//     opens them through that fd, on one thread for all the namespaces it
//     touches, and closes them when it is done.
//  2. Bridges, for LANs with several hosts: a Linux bridge in the router's
//     namespace named as the router's LAN interface, with a fixed MAC,
//     multicast snooping off (neighbour discovery must reach every host) and
//     STP off (the kernel's default: ports forward at once).
//  3. Veth pairs, one per link. Each is created by one RTM_NEWLINK sent on
//     the rtnetlink socket of one end's namespace, with the peer's
//     namespace fd in IFLA_NET_NS_FD: the pair is born with each end in its
//     namespace and nothing ever appears in the root namespace, not even
//     for a moment. The same request sets both ends' names, MACs and
//     ifindexes, brings the first end up and puts it in its bridge. A LAN with one host is a veth pair, as IPMininet builds
//     it; with several, the router's end of each host's pair is a port of
//     the bridge, named "<lan interface>p<k>" (as1ra-eth2p1).
//  4. Addresses and routes, per namespace: the peers created by the other
//     end are brought up, addresses added, and the hosts' default routes
//     added via their router's LAN addresses (protocol "boot", as `ip
//     route add` makes them).
//  5. Loopbacks, per router: its loopback addresses on lo, /32 and /128,
//     before any speaker starts (an iBGP session between loopbacks binds
//     to one).
//  6. IPv6 readiness, per namespace: Build returns only when no IPv6
//     address is tentative any more. The kernel joins an address's
//     solicited-node multicast group asynchronously (its addrconf work
//     queue) after the address is added or its link comes up; until then
//     neighbour solicitations for the address are dropped, and the first
//     ping or BGP connection to it stalls for a second, the solicitation's
//     retransmission time. With accept_dad=0 the same work item that joins
//     the group clears the tentative flag, so no tentative address means
//     every address answers neighbour discovery. This is why addresses are
//     added without IFA_F_NODAD, which docs/design.md asked for: with it
//     an address is never marked tentative, it looks usable before it can
//     be reached, and nothing tells when it can. accept_dad=0 alone already
//     skips duplicate address detection, so there is no DAD delay either
//     way. Every device with a carrier must also have its link-local
//     address, which the kernel creates (with its fe80::/64 route) from the
//     same work queue after the carrier comes up, 100 to 300 ms after a
//     4-router build: before it, a router has no route to its peers'
//     link-local addresses, the next hops of every IPv6 BGP route. SetLink
//     and SetInterface wait the same way after bringing a device up
//     (keep_addr_on_down makes kept addresses go through that work again).
//  7. The underlay, per AS of several routers (see below).
//
// Interface names are the model's (as1ra-eth0). MACs are fixed,
// 02:NN:NN:II:II:PP (node number, interface index, bridge port), so the
// EUI-64 link-local addresses, the IPv6 next hops that BGP and traceroute
// show, are the same every time a lab is built. So are ifindexes: ethN is
// ifindex N+2 in its namespace (lo is 1), bridge ports come after the last
// interface; `ip link` numbers a node's interfaces the same way every
// time, and Build never has to ask the kernel for an index.
//
// On this project's 2-CPU machine, the 200-router, 396-link topology of
// `lab generate` (BenchmarkBuild200) builds in 0.6 to 1 s and tears down
// in about 0.1 s, then the kernel destroys the namespaces in about 0.1 s
// more. Kernel work dominates: device registration and namespace setup
// under RTNL, and creating the files under /run/netns (ext4 here); more
// than a few workers only add contention.
//
// # Sysctls
//
// Set in every namespace before any interface exists, so that the
// "default" values are inherited: accept_dad=0 (all, default), so that
// link-local addresses are usable at once too; keep_addr_on_down=1 (all,
// default), so that a link taken down and up keeps its IPv6 addresses (the
// seed had to re-add 2001:12::b by hand; we do not); ping_group_range
// "0 2147483647", so that ICMP datagram sockets (pingall, unprivileged
// ping) work; rp_filter=0 (all, default), because new namespaces inherit
// the host's IPv4 settings and strict reverse-path filtering would drop
// the asymmetric paths BGP labs show on purpose; icmp_ratelimit=0 (IPv4
// and IPv6), so that traceroute run again and again in class does not show
// "* * *" because a router rationed its Time Exceeded messages. Routers
// also get ip_forward=1 and ipv6 all.forwarding=1.
//
// One setting is the host's: the kernel's ARP and NDP tables are global,
// shared by every namespace, and their size limits
// (net.ipv{4,6}.neigh.default.gc_thresh{1,2,3}) exist only in the initial
// namespace. The default gc_thresh3, 1024 entries, is less than a
// 200-router lab needs (each link end learns its neighbour's address, and
// in IPv6 its link-local address too); past it new neighbours fail with
// "neighbor table overflow" and pings with ENOBUFS, in every lab on the
// machine. Build raises them as Mininet does (to at least 4096, 8192,
// 16384, and to four times what the lab needs), never lowers them, and
// logs what it changed.
//
// # Links on a running lab
//
// SetLink sets both ends administratively down or up, as Mininet's
// `link A B down`; SetInterface one end, as the seed's `ip link set dev
// as2rb-eth0 down` (the other end loses its carrier). Addresses survive
// (keep_addr_on_down); the connected routes come back with the link.
//
// Blackhole silently drops everything a link carries while its carrier
// stays up: no interface event reaches the speakers, so a BGP session only
// notices when its hold timer expires, which is how the seed's session
// died. Mechanism: in each end's namespace, an nf_tables table of family
// netdev named "lab_<lab>" holds a base chain "blackhole_<device>" on the
// device's ingress hook (priority -500) with one rule, `counter drop`
// (`ip netns exec L-N nft list ruleset` shows it and counts what it
// dropped). It is made over netlink with github.com/google/nftables, so no
// nft binary is needed. Why not the usual tools: netem is not in this
// kernel, and neither is tc's gact action, so `tc qdisc … netem loss 100%`
// and `tc filter … action drop` are unavailable; an ingress drop keeps the
// link's state exactly as a real silent failure leaves it. Restoring
// deletes the chain, and the table with its last chain.
//
// # The underlay
//
// Inside every AS of two or more routers the lab stands in for an IGP (no
// routing protocol runs; docs/design.md says why): for each family,
// Dijkstra over the AS's links that are up (both ends administratively up
// with carrier, read from the kernel), weighted by topo.Link.Cost, gives
// every router a route to every other router's loopbacks, to every link
// subnet of the AS it is not on, and to the subnets of the AS's border
// links (to routers of other ASes) it is not on. Next hop: the neighbour's
// global address on the first link of the path, on-link; metric: the
// path's cost, plus the link's own cost for a subnet; protocol
// UnderlayProtocol (`proto 201`), table main. Equal-cost paths are broken
// by their first link: the one first in the topology's link order. Each
// router's routes go in one batch of netlink requests.
//
// SetLink and SetInterface recompute the AS of the link, or both ASes of a
// border link, and change only the routes that differ from what the
// kernel has (the kernel drops by itself the routes through an interface
// set down); SetLinkChanged and SetInterfaceChanged also say which
// routers' routes changed, since a speaker does not follow route changes
// and must be told to read the kernel again. Blackhole changes nothing:
// the link keeps its carrier, so the underlay keeps routing over it.
// Underlay returns a router's routes. Nothing is left to remove at
// teardown: the routes go with their namespace.
//
// # Commands in a node
//
// Do runs a function on an OS thread locked into a node's namespace (for
// opening sockets there). Command starts a program in a namespace known
// only by its path, for client processes: the binary re-executes itself
// (/proc/self/exe) with a marker argv[0]; this package's init sees it,
// enters the namespace, gives itself a mount namespace whose /sys is
// remounted so /sys/class/net shows the node's interfaces (as `ip netns
// exec` does), and execs the program. The program keeps the pid, the
// terminal and the signals.
//
// # Teardown
//
// Close ends every process whose /proc/<pid>/ns/net is one of the lab's
// namespaces (compared by device and inode; not this process): SIGTERM,
// one second to exit, then SIGKILL, through pidfds opened after re-checking
// the namespace so that a recycled pid is never hit. It then closes its
// fds and sockets, detaches and removes the registrations, scans again for
// processes that entered meanwhile, and removes the control socket and the
// state file. The kernel destroys each namespace, with its veths, bridges
// and routes, once nothing refers to it any more: callers must close the
// sockets they opened in the lab (Do) for that to happen. Clean does the
// same from a state file after a crash.
package netemu
