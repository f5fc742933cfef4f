package session

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
	"lab/speaker/peer"
)

// Dialer opens a session's TCP connection. The default dials inside the
// engine's namespace from peer.Config.LocalAddr to the BGP port, with MD5
// when configured; tests substitute net.Pipe.
type Dialer interface {
	Dial(ctx context.Context, p *peer.Config) (net.Conn, error)
}

// nsDialer opens TCP connections inside the engine's namespace. It opens
// the namespace (by its path) for each dial and closes it after: an open
// and a close beside the thread a dial takes anyway (internal/nsthread),
// and an engine holds no descriptor on its namespace while it runs (a lab
// runs an engine per router).
type nsDialer struct {
	e *Engine
}

func (d nsDialer) Dial(ctx context.Context, p *peer.Config) (net.Conn, error) {
	nd := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: p.LocalAddr.AsSlice(), Zone: p.LocalAddr.Zone()},
	}
	if p.Password != "" {
		nd.Control = md5Control(map[netip.Addr]string{p.PeerAddr: p.Password})
	}
	// An empty path dials in the caller's namespace.
	return nsthread.Dial(ctx, d.e.cfg.Namespace, &nd, "tcp", net.JoinHostPort(p.PeerAddr.String(), strconv.Itoa(d.e.port)))
}

// md5Control sets a TCP MD5 key (RFC 2385) per peer address on a socket
// before it connects or listens.
func md5Control(keys map[netip.Addr]string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			for a, key := range keys {
				if serr = setMD5(int(fd), a, key); serr != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func setMD5(fd int, a netip.Addr, key string) error {
	if len(key) > unix.TCP_MD5SIG_MAXKEYLEN {
		return fmt.Errorf("TCP MD5 key for %v longer than %d bytes", a, unix.TCP_MD5SIG_MAXKEYLEN)
	}
	sig := unix.TCPMD5Sig{Keylen: uint16(len(key))}
	copy(sig.Key[:], key)
	if a.Is4() {
		sig.Addr.Family = unix.AF_INET
		ip := a.As4()
		copy(sig.Addr.Data[2:6], ip[:])
	} else {
		sig.Addr.Family = unix.AF_INET6
		ip := a.As16()
		copy(sig.Addr.Data[6:22], ip[:])
	}
	if err := unix.SetsockoptTCPMD5Sig(fd, unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig); err != nil {
		return fmt.Errorf("set TCP MD5 key for %v: %w", a, err)
	}
	return nil
}

// listen opens the engine's TCP listeners (the BGP port) in its
// namespace, with the MD5 keys of its peers: one per address family its
// peers' addresses are of (an IPv6-only router listens on :: alone, a
// router without peers on nothing). The peers' addresses never change
// (Speaker.Reconfigure refuses it: a change of the lab's shape), so
// neither do the families; Reconfigure changes keys only, on the listener
// of the peer's family (setListenerKey). Not one dual-stack listener for
// both: TCP MD5 keys of IPv4 peers would then be IPv4-mapped ones on an
// IPv6 socket.
func (e *Engine) listen() ([]net.Listener, error) {
	keys4 := map[netip.Addr]string{}
	keys6 := map[netip.Addr]string{}
	var has4, has6 bool
	for _, p := range e.cfg.Peers {
		has4 = has4 || p.PeerAddr.Is4()
		has6 = has6 || !p.PeerAddr.Is4()
		if p.Password == "" {
			continue
		}
		if p.PeerAddr.Is4() {
			keys4[p.PeerAddr] = p.Password
		} else {
			keys6[p.PeerAddr] = p.Password
		}
	}
	type family struct {
		net, addr string
		keys      map[netip.Addr]string
	}
	var fams []family
	if has4 {
		fams = append(fams, family{"tcp4", "0.0.0.0", keys4})
	}
	if has6 {
		fams = append(fams, family{"tcp6", "::", keys6})
	}
	if len(fams) == 0 {
		return nil, nil
	}
	// The namespace is open for the time it takes to listen: the
	// listeners belong to it for good.
	ns, err := nsthread.Open(e.cfg.Namespace)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	var ls []net.Listener
	for _, x := range fams {
		lc := net.ListenConfig{}
		// Plain TCP, not Go's default Multipath TCP: Linux refuses TCP
		// MD5 keys on an MPTCP socket (ENOPROTOOPT), and a key may come
		// later (`apply` of a password, setListenerKey). With keys now,
		// Go would fall back to TCP silently; without, it would not.
		lc.SetMultipathTCP(false)
		if len(x.keys) > 0 {
			lc.Control = md5Control(x.keys)
		}
		l, err := ns.Listen(context.Background(), &lc, x.net, net.JoinHostPort(x.addr, strconv.Itoa(e.port)))
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s port %d in %s: %w", x.net, e.port, e.cfg.Namespace, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}
