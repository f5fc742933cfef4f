package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
)

// tokenCookie keeps the token after the page's first load, so that the
// address bar (on a projector) need not show it.
const tokenCookie = "lab_token"

// tokenHeader carries the token on actions (and may on any request).
const tokenHeader = "X-Lab-Token"

// guard checks every request: the Host (on loopback), the token (when the
// server needs one, and on every action), and sets the headers that keep
// the page from being framed or its token from leaking in a Referer.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		if !s.needToken && !loopbackRequestHost(r.Host) {
			// A loopback server reached by another name: a DNS-rebinding
			// page, whose requests would carry its own site's cookies.
			http.Error(w, "this lab's page answers on loopback names only (127.0.0.1, localhost, [::1])", http.StatusMisdirectedRequest)
			return
		}
		if s.needToken {
			switch {
			case s.tokenOK(r.Header.Get(tokenHeader)):
			case s.tokenOK(r.URL.Query().Get("token")):
				http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			case s.cookieOK(r):
			default:
				http.Error(w, "this lab's page needs its token: open the URL `lab web` printed (it ends in ?token=...)", http.StatusUnauthorized)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if s.opts.ReadOnly {
				http.Error(w, errReadOnly.Error(), http.StatusForbidden)
				return
			}
			// Actions: the token in a header (which another site's page
			// cannot send without a preflight this server refuses), from
			// this origin when the browser says where from.
			if !s.tokenOK(r.Header.Get(tokenHeader)) {
				http.Error(w, "actions need the page's token in the "+tokenHeader+" header", http.StatusForbidden)
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
				http.Error(w, "cross-origin action refused", http.StatusForbidden)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func (s *Server) cookieOK(r *http.Request) bool {
	c, err := r.Cookie(tokenCookie)
	return err == nil && s.tokenOK(c.Value)
}

// loopbackRequestHost reports whether a request's Host names loopback.
func loopbackRequestHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	return loopbackHost(h)
}

// sameOrigin reports whether an Origin header names this server.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && u.Host == host
}
