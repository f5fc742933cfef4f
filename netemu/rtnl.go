package netemu

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
)

// rtnl is a node's rtnetlink sockets, created inside its namespace: a
// socket belongs for life to the namespace it was created in, whatever
// thread uses it later.
//
// The build opens a node's when it creates the namespace and closes them
// all when Build ends; the built lab holds none. An operation on the
// running lab (link down or up, the underlay that follows, a link's
// state) opens those of the nodes it touches and closes them when it is
// done (sockets): two descriptors per namespace for the lab's life would
// be thousands in a lab of thousands of routers, for operations that come
// now and then.
type rtnl struct {
	h   *netlink.Handle  // netlink's requests
	raw *nl.SocketHandle // the requests netlink.Handle cannot make (veth pairs, route batches)
}

// newRtnl opens the sockets in the namespace of the calling thread, which
// the caller has locked there.
func newRtnl() (*rtnl, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink socket: %w", err)
	}
	raw, err := nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("rtnetlink socket: %w", err)
	}
	return &rtnl{h: h, raw: &nl.SocketHandle{Socket: raw}}, nil
}

func (r *rtnl) close() {
	r.h.Close()
	r.raw.Close()
}

// inNodes runs fn(i) inside the namespace of each of nodes, one after the
// other, on one thread of its own (internal/nsthread) that enters each
// namespace in turn: a thread is what such work costs most (a throwaway
// thread may change namespace as often as it likes: it ends with the
// work). It returns each node's error: fn's, or the failure to enter its
// namespace. The caller holds Lab.mu for reading: the nodes' descriptors
// stay open meanwhile.
func inNodes(nodes []*nsNode, fn func(i int) error) []error {
	errs := make([]error, len(nodes))
	nsthread.Throwaway(func() error {
		for i, n := range nodes {
			if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
				errs[i] = fmt.Errorf("%s: entering namespace %s: %w", n.node.Name, n.ns, err)
				continue
			}
			errs[i] = fn(i)
		}
		return nil
	})
	return errs
}

// sockets gives one operation the rtnetlink sockets of the nodes it
// touches: during the build, those the build holds (nsNode.nl); on the
// built lab, each node's opened on first use (see open) and closed by
// close. It belongs to the operation's goroutine; the caller holds Lab.mu
// for reading from the first open or of until close.
type sockets struct {
	build bool
	socks map[*nsNode]*rtnl
}

// buildSockets hands out the sockets the build holds.
var buildSockets = &sockets{build: true}

// open opens the sockets of those of nodes that have none yet, on one
// thread (inNodes): an operation that knows which nodes it touches opens
// them all at once. It returns the first error.
func (s *sockets) open(nodes ...*nsNode) error {
	if s.build {
		return nil
	}
	var todo []*nsNode
	for _, n := range nodes {
		if s.socks[n] == nil && !slices.Contains(todo, n) {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	rs := make([]*rtnl, len(todo))
	errs := inNodes(todo, func(i int) error {
		var err error
		if rs[i], err = newRtnl(); err != nil {
			return fmt.Errorf("%s: %w", todo[i].node.Name, err)
		}
		return nil
	})
	if s.socks == nil {
		s.socks = map[*nsNode]*rtnl{}
	}
	for i, n := range todo {
		if rs[i] != nil {
			s.socks[n] = rs[i]
		}
	}
	return errors.Join(errs...)
}

// of returns n's sockets, opening them if they are not yet.
func (s *sockets) of(n *nsNode) (*rtnl, error) {
	if s.build {
		return n.nl, nil
	}
	if err := s.open(n); err != nil {
		return nil, err
	}
	return s.socks[n], nil
}

// close closes the sockets the operation opened.
func (s *sockets) close() {
	if s.build {
		return
	}
	for n, r := range s.socks {
		r.close()
		delete(s.socks, n)
	}
}
