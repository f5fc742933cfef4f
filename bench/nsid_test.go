package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// nsWatch tells when the kernel has destroyed a set of namespaces. It
// gives each an id in this process's namespace (as `ip netns set NAME
// auto` does) and listens for RTM_DELNSID, which the kernel sends when a
// namespace with an id is finally destroyed, after its last reference
// went. The ids go with the namespaces.
type nsWatch struct {
	fd      int
	mu      sync.Mutex
	ids     map[int32]bool // id → destroyed
	closing atomic.Bool
	stopped chan struct{}
}

// watchNamespaces starts watching the namespaces registered at paths.
func watchNamespaces(paths []string) (*nsWatch, error) {
	sub, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(sub, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(sub)
		return nil, err
	}
	if err := unix.SetsockoptInt(sub, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, unix.RTNLGRP_NSID); err != nil {
		unix.Close(sub)
		return nil, fmt.Errorf("nsid group: %w", err)
	}
	// The listener wakes up now and then to see whether it should stop.
	unix.SetsockoptTimeval(sub, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200000})
	w := &nsWatch{fd: sub, ids: map[int32]bool{}, stopped: make(chan struct{})}
	go w.listen()
	req, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		w.close()
		return nil, err
	}
	defer unix.Close(req)
	if err := unix.Bind(req, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		w.close()
		return nil, err
	}
	buf := make([]byte, 4096)
	for seq, p := range paths {
		id, err := nsidOf(req, buf, uint32(2*seq+1), p)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		w.mu.Lock()
		if _, ok := w.ids[id]; !ok {
			w.ids[id] = false
		}
		w.mu.Unlock()
	}
	return w, nil
}

// nsidOf gives the namespace at path an id, if it has none, and returns it.
func nsidOf(s int, buf []byte, seq uint32, path string) (int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fd := uint32(f.Fd())
	// RTM_NEWNSID with NETNSA_NSID -1: the kernel picks the id; EEXIST when
	// the namespace has one already.
	if _, err := nsidRequest(s, buf, unix.RTM_NEWNSID, seq, fd, true); err != nil && !errors.Is(err, unix.EEXIST) {
		return 0, fmt.Errorf("assign nsid: %w", err)
	}
	id, err := nsidRequest(s, buf, unix.RTM_GETNSID, seq+1, fd, false)
	if err != nil {
		return 0, fmt.Errorf("get nsid: %w", err)
	}
	if id < 0 {
		return 0, errors.New("no nsid")
	}
	return id, nil
}

// nsidRequest sends an RTM_NEWNSID (assign) or RTM_GETNSID request about
// the namespace open as fd and returns the id in the answer, if any.
func nsidRequest(s int, buf []byte, typ uint16, seq, fd uint32, assign bool) (int32, error) {
	ne := binary.NativeEndian
	flags := uint16(unix.NLM_F_REQUEST)
	if assign {
		flags |= unix.NLM_F_ACK
	}
	b := make([]byte, unix.NLMSG_HDRLEN, 64)
	b = append(b, unix.AF_UNSPEC, 0, 0, 0) // struct rtgenmsg, padded
	attr := func(t uint16, v uint32) {
		b = ne.AppendUint16(b, unix.SizeofRtAttr+4)
		b = ne.AppendUint16(b, t)
		b = ne.AppendUint32(b, v)
	}
	attr(unix.NETNSA_FD, fd)
	if assign {
		attr(unix.NETNSA_NSID, 0xffffffff) // -1
	}
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], flags)
	ne.PutUint32(b[8:], seq)
	if err := unix.Sendto(s, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	for {
		n, _, err := unix.Recvfrom(s, buf, 0)
		if err != nil {
			return 0, err
		}
		for m := buf[:n]; len(m) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(m[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(m) {
				return 0, errors.New("bad netlink message")
			}
			mt, ms, body := ne.Uint16(m[4:]), ne.Uint32(m[8:]), m[unix.NLMSG_HDRLEN:l]
			m = m[min((l+3)&^3, len(m)):]
			if ms != seq {
				continue
			}
			switch mt {
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if code := int32(ne.Uint32(body)); code != 0 {
						return 0, unix.Errno(-code)
					}
				}
				return -1, nil
			case unix.RTM_NEWNSID:
				return nsidAttr(body), nil
			}
		}
	}
}

// nsidAttr is the NETNSA_NSID of an nsid message body, or -1.
func nsidAttr(body []byte) int32 {
	ne := binary.NativeEndian
	if len(body) < 4 {
		return -1
	}
	for a := body[4:]; len(a) >= unix.SizeofRtAttr; {
		l := int(ne.Uint16(a[0:]))
		if l < unix.SizeofRtAttr || l > len(a) {
			break
		}
		if ne.Uint16(a[2:]) == unix.NETNSA_NSID && l >= unix.SizeofRtAttr+4 {
			return int32(ne.Uint32(a[unix.SizeofRtAttr:]))
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	return -1
}

// listen records RTM_DELNSID notifications until the socket is closed.
func (w *nsWatch) listen() {
	defer close(w.stopped)
	buf := make([]byte, 16<<10)
	ne := binary.NativeEndian
	for {
		if w.closing.Load() {
			return
		}
		n, _, err := unix.Recvfrom(w.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return
		}
		for m := buf[:n]; len(m) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(m[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(m) {
				break
			}
			if ne.Uint16(m[4:]) == unix.RTM_DELNSID {
				if id := nsidAttr(m[unix.NLMSG_HDRLEN:l]); id >= 0 {
					w.mu.Lock()
					if _, ok := w.ids[id]; ok {
						w.ids[id] = true
					}
					w.mu.Unlock()
				}
			}
			m = m[min((l+3)&^3, len(m)):]
		}
	}
}

// wait returns when every watched namespace is destroyed, or an error
// after timeout.
func (w *nsWatch) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		left := 0
		for _, gone := range w.ids {
			if !gone {
				left++
			}
		}
		w.mu.Unlock()
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d namespaces not destroyed after %v", left, len(w.ids), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *nsWatch) close() {
	w.closing.Store(true)
	<-w.stopped
	unix.Close(w.fd)
}
