package session

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"lab/speaker/peer"
)

// Dialer opens a session's TCP connection. The default dials inside the
// engine's namespace from peer.Config.LocalAddr to the BGP port, with MD5
// when configured; tests substitute net.Pipe.
type Dialer interface {
	Dial(ctx context.Context, p *peer.Config) (net.Conn, error)
}

// nsDialer opens TCP connections inside the engine's namespace.
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
	var c net.Conn
	err := d.e.inNS(func() error {
		var err error
		c, err = nd.DialContext(ctx, "tcp", net.JoinHostPort(p.PeerAddr.String(), strconv.Itoa(d.e.port)))
		return err
	})
	return c, err
}

// inNS runs fn on an OS thread inside the engine's namespace (or in the
// caller's namespace when it has none). The socket fn opens is created
// there. The thread is never unlocked: it ends with its goroutine, so its
// namespace change never leaks to another goroutine.
func (e *Engine) inNS(fn func() error) error {
	if !e.hasNS {
		return fn()
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(e.ns); err != nil {
			ch <- fmt.Errorf("enter namespace %s: %w", e.cfg.Namespace, err)
			return
		}
		ch <- fn()
	}()
	return <-ch
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

// listen opens the engine's TCP listeners (IPv4 and IPv6, the BGP port)
// in its namespace, with the MD5 keys of its peers.
func (e *Engine) listen() ([]net.Listener, error) {
	keys4 := map[netip.Addr]string{}
	keys6 := map[netip.Addr]string{}
	for _, p := range e.cfg.Peers {
		if p.Password == "" {
			continue
		}
		if p.PeerAddr.Is4() {
			keys4[p.PeerAddr] = p.Password
		} else {
			keys6[p.PeerAddr] = p.Password
		}
	}
	var ls []net.Listener
	err := e.inNS(func() error {
		for _, x := range []struct {
			net, addr string
			keys      map[netip.Addr]string
		}{{"tcp4", "0.0.0.0", keys4}, {"tcp6", "::", keys6}} {
			lc := net.ListenConfig{}
			if len(x.keys) > 0 {
				lc.Control = md5Control(x.keys)
			}
			l, err := lc.Listen(context.Background(), x.net, net.JoinHostPort(x.addr, strconv.Itoa(e.port)))
			if err != nil {
				return fmt.Errorf("listen on %s port %d in %s: %w", x.net, e.port, e.cfg.Namespace, err)
			}
			ls = append(ls, l)
		}
		return nil
	})
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	return ls, nil
}
