package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"lab/cli/commands"
	"lab/netemu"
	"lab/topo"
)

// newTestLab is the seed lab's Lab without a data plane or speakers:
// enough for the page, its access rules and its state's shape.
func newTestLab(t *testing.T) *Lab {
	t.Helper()
	m, err := topo.Load("../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLab(&commands.Env{Lab: m, Routers: map[string]commands.Router{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// testServer is a server of l with opts whose handler the test calls
// directly; token says whether it needs the token (as when bound beyond
// loopback).
func testServer(l *Lab, opts Options, token bool) (*Server, http.Handler) {
	s := &Server{Lab: l, opts: opts, token: "0123456789abcdef0123456789abcdef", needToken: token}
	return s, s.routes()
}

func do(h http.Handler, method, target string, body string, hdr map[string]string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	req.Host = "127.0.0.1:8080"
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestLoopbackServer(t *testing.T) {
	l := newTestLab(t)
	s, h := testServer(l, Options{Listen: DefaultListen}, false)
	tok := s.token
	json := map[string]string{"Content-Type": "application/json"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	for _, c := range []struct {
		name, method, target, body string
		hdr                        map[string]string
		want                       int
	}{
		{"page", "GET", "/", "", nil, 200},
		{"page by localhost", "GET", "/", "", map[string]string{"Host": "localhost:8080"}, 200},
		{"page by [::1]", "GET", "/", "", map[string]string{"Host": "[::1]:8080"}, 200},
		{"script", "GET", "/static/app.js", "", nil, 200},
		{"diagram", "GET", "/api/diagram", "", nil, 200},
		{"state", "GET", "/api/state", "", nil, 200},
		{"unknown router", "GET", "/api/router/nosuch", "", nil, 404},
		{"host is no router", "GET", "/api/router/h1", "", nil, 404},
		{"unknown path", "GET", "/nosuch", "", nil, 404},
		{"DNS rebinding", "GET", "/api/state", "", map[string]string{"Host": "evil.example:8080"}, http.StatusMisdirectedRequest},
		{"action without token", "POST", "/api/link", `{"link":0,"op":"down"}`, json, 403},
		{"action with a wrong token", "POST", "/api/link", `{"link":0,"op":"down"}`, with(json, tokenHeader, "x"), 403},
		{"action from elsewhere", "POST", "/api/link", `{"link":0,"op":"down"}`, with(with(json, tokenHeader, tok), "Origin", "http://evil.example"), 403},
		{"action as a form", "POST", "/api/link", `link=0&op=down`, map[string]string{tokenHeader: tok, "Content-Type": "application/x-www-form-urlencoded"}, 400},
		{"unknown operation", "POST", "/api/link", `{"link":0,"op":"explode"}`, with(json, tokenHeader, tok), 400},
		{"no such link", "POST", "/api/link", `{"link":8,"op":"down"}`, with(json, tokenHeader, tok), 400},
		{"unknown field", "POST", "/api/link", `{"link":0,"op":"down","line":"apply /etc/shadow"}`, with(json, tokenHeader, tok), 400},
		{"clear a host", "POST", "/api/clear", `{"router":"h1"}`, with(json, tokenHeader, tok), 400},
		{"GET an action", "GET", "/api/link", "", nil, 405},
	} {
		w := do(h, c.method, c.target, c.body, c.hdr)
		if w.Code != c.want {
			t.Errorf("%s: %s %s: HTTP %d, want %d (%s)", c.name, c.method, c.target, w.Code, c.want, strings.TrimSpace(w.Body.String()))
		}
	}
	page := do(h, "GET", "/", "", nil)
	body := page.Body.String()
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg" class="labgraph"`, `id="node-as1ra"`, `id="link-7"`, `id="pingall"`, `name="lab-token" content="` + tok + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(body, "<?xml") {
		t.Error("the page inlines the SVG with its XML declaration")
	}
	for _, hd := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if page.Header().Get(hd) == "" {
			t.Errorf("the page has no %s header", hd)
		}
	}
}

func TestTokenServer(t *testing.T) {
	l := newTestLab(t)
	s, h := testServer(l, Options{Listen: "0.0.0.0:8080"}, true)
	tok := s.token
	// Any Host: the token is the key.
	far := map[string]string{"Host": "lab.example:8080"}
	if w := do(h, "GET", "/", "", far); w.Code != http.StatusUnauthorized {
		t.Errorf("page without the token: HTTP %d, want 401", w.Code)
	}
	if w := do(h, "GET", "/api/events", "", far); w.Code != http.StatusUnauthorized {
		t.Errorf("events without the token: HTTP %d, want 401", w.Code)
	}
	if w := do(h, "GET", "/?token=nope", "", far); w.Code != http.StatusUnauthorized {
		t.Errorf("page with a wrong token: HTTP %d, want 401", w.Code)
	}
	w := do(h, "GET", "/?token="+tok, "", far)
	if w.Code != 200 {
		t.Fatalf("page with the token: HTTP %d", w.Code)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == tokenCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != tok || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("the token's cookie: %+v", cookie)
	}
	withCookie := map[string]string{"Host": "lab.example:8080", "Cookie": tokenCookie + "=" + tok}
	if w := do(h, "GET", "/api/state", "", withCookie); w.Code != 200 {
		t.Errorf("state with the cookie: HTTP %d", w.Code)
	}
	if w := do(h, "GET", "/api/state", "", map[string]string{"Host": "lab.example:8080", tokenHeader: tok}); w.Code != 200 {
		t.Errorf("state with the header: HTTP %d", w.Code)
	}
	// The cookie alone does not make an action: another site could make
	// the browser send it.
	act := map[string]string{"Host": "lab.example:8080", "Cookie": tokenCookie + "=" + tok, "Content-Type": "application/json"}
	if w := do(h, "POST", "/api/link", `{"link":0,"op":"down"}`, act); w.Code != http.StatusForbidden {
		t.Errorf("action with the cookie only: HTTP %d, want 403", w.Code)
	}
}

func TestReadOnlyServer(t *testing.T) {
	l := newTestLab(t)
	s, h := testServer(l, Options{Listen: DefaultListen, ReadOnly: true}, false)
	for _, path := range []string{"/api/link", "/api/clear", "/api/pingall", "/api/anything"} {
		w := do(h, "POST", path, `{"link":0,"op":"down"}`, map[string]string{"Content-Type": "application/json", tokenHeader: s.token})
		if w.Code != http.StatusForbidden {
			t.Errorf("POST %s on a read-only page: HTTP %d, want 403", path, w.Code)
		}
	}
	body := do(h, "GET", "/", "", nil).Body.String()
	for _, no := range []string{`id="pingall"`, "lab-token", s.token} {
		if strings.Contains(body, no) {
			t.Errorf("the read-only page has %s", no)
		}
	}
	if !strings.Contains(body, `data-readonly="true"`) {
		t.Error("the read-only page does not say so to its script")
	}
}

func TestLinkState(t *testing.T) {
	up := netemu.EndStatus{AdminUp: true, Carrier: true}
	downNoCarrier := netemu.EndStatus{AdminUp: true}
	admin := netemu.EndStatus{}
	for _, c := range []struct {
		st   netemu.LinkStatus
		want string
	}{
		{netemu.LinkStatus{A: up, B: up}, LinkUp},
		{netemu.LinkStatus{A: admin, B: admin}, LinkDown},
		{netemu.LinkStatus{A: admin, B: downNoCarrier}, LinkHalf},
		{netemu.LinkStatus{A: downNoCarrier, B: admin}, LinkHalf},
		{netemu.LinkStatus{A: up, B: netemu.EndStatus{AdminUp: true, Carrier: true, Blackholed: true}, Blackholed: true}, LinkBlackhole},
		{netemu.LinkStatus{A: up, B: netemu.EndStatus{Err: errors.New("gone")}}, LinkUnknown},
	} {
		if got := LinkState(c.st); got != c.want {
			t.Errorf("LinkState(%+v) = %s, want %s", c.st, got, c.want)
		}
	}
}

func TestCombine(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"Established", "Established", "established"},
		{"Established", "OpenConfirm", "openconfirm"},
		{"Active", "Established", "active"},
		{"Idle", "Connect", "idle"},
		{"", "Established", "established"}, // an external router's session
		{"", "", "unknown"},
	} {
		if got := combine(c.a, c.b); got != c.want {
			t.Errorf("combine(%q, %q) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}

func TestStateDiff(t *testing.T) {
	old := &State{Links: map[string]string{"link-0": "up", "link-1": "up"},
		Sessions: map[string]SessionState{"session-0": {State: "established", A: "Established", B: "Established"}},
		Routers:  map[string]uint64{"r": 1}}
	cur := &State{Links: map[string]string{"link-0": "down", "link-1": "up"},
		Sessions: map[string]SessionState{"session-0": {State: "established", A: "Established", B: "Established"}},
		Routers:  map[string]uint64{"r": 2}}
	d, changed := cur.diff(old)
	if !changed || len(d.Links) != 1 || d.Links["link-0"] != "down" || len(d.Sessions) != 0 || d.Routers["r"] != 2 {
		t.Errorf("diff = %+v, %v", d, changed)
	}
	if _, changed := cur.diff(cur); changed {
		t.Error("a state differs from itself")
	}
	if d, _ := cur.diff(nil); d != cur {
		t.Error("the diff from nothing is not everything")
	}
}

// TestWatcherState: without a data plane or speakers, every link and
// session is unknown, and each has its diagram id.
func TestWatcherState(t *testing.T) {
	l := newTestLab(t)
	st := l.watch.current().state
	if len(st.Links) != 8 || st.Links["link-7"] != LinkUnknown {
		t.Errorf("links %v", st.Links)
	}
	if len(st.Sessions) != 8 || st.Sessions["session-0"].State != "unknown" {
		t.Errorf("sessions %v", st.Sessions)
	}
	if len(st.Routers) != 4 {
		t.Errorf("routers %v", st.Routers)
	}
}
