package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "assets/index.html"))

// page is what the page's template fills in.
type page struct {
	Lab      string
	SVG      template.HTML
	ReadOnly bool
	Token    string
	Title    string
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.handlePage)
	mux.HandleFunc("GET /api/diagram", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.diag) })
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.watch.current().state) })
	mux.HandleFunc("GET /api/events", s.handleEvents)
	mux.HandleFunc("GET /api/router/{name}", s.handleRouter)
	if !s.opts.ReadOnly {
		mux.HandleFunc("POST /api/link", s.handleLink)
		mux.HandleFunc("POST /api/clear", s.handleClear)
		mux.HandleFunc("POST /api/pingall", s.handlePingall)
	}
	return s.guard(mux)
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	m := s.env.Lab
	p := page{Lab: m.Name, SVG: template.HTML(s.svg), ReadOnly: s.opts.ReadOnly, Token: s.token,
		Title: fmt.Sprintf("%d ASes, %d routers, %d hosts, %d links, %d BGP sessions", len(m.ASes), len(m.Routers), len(m.Hosts), len(m.Links), len(m.Sessions))}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"ok": false, "error": err.Error()})
	w.Write(b)
}

// keepalive is how often an idle event stream gets a comment, so proxies
// and browsers keep it open and a dead page is noticed.
const keepalive = 15 * time.Second

// tickerEvery is how often a page gets the ticker's new messages, at most
// tickerBatch of them (the rest are counted as skipped).
const (
	tickerEvery = 100 * time.Millisecond
	tickerBatch = 40
)

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	if s.clients.Add(1) > maxClients {
		s.clients.Add(-1)
		http.Error(w, "too many pages open on this lab", http.StatusServiceUnavailable)
		return
	}
	defer s.clients.Add(-1)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	tc := s.ticker.add()
	defer s.ticker.remove(tc)
	acts := s.acts.sub()
	defer s.acts.unsub(acts)
	// What was published may be up to a poll old: read again now, and
	// send the snapshot of what was published; the fresh one follows as
	// an update.
	s.watch.refreshNow()

	send := func(event string, v any) bool {
		var b []byte
		switch v := v.(type) {
		case []byte:
			b = v
		default:
			var err error
			if b, err = json.Marshal(v); err != nil {
				return false
			}
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	cur := s.watch.current()
	if !send("snapshot", cur.state) {
		return
	}
	s.lastMu.Lock()
	last := s.lastPing
	s.lastMu.Unlock()
	if last != nil && !send("ping", last) {
		return
	}
	if r := s.ticker.recent(tickerBatch); len(r) > 0 && !send("msgs", map[string]any{"msgs": r, "skipped": 0}) {
		return
	}
	tick := time.NewTicker(tickerEvery)
	defer tick.Stop()
	idle := time.NewTimer(keepalive)
	defer idle.Stop()
	var batch []Msg
	for {
		select {
		case <-r.Context().Done():
			return
		case <-cur.next:
			next := s.watch.current()
			if d, changed := next.state.diff(cur.state); changed && !send("update", d) {
				return
			}
			cur = next
		case n := <-acts:
			if !send(n.event, n.data) {
				return
			}
		case <-tick.C:
			batch = batch[:0]
		drain:
			for len(batch) < tickerBatch {
				select {
				case m := <-tc.ch:
					batch = append(batch, m)
				default:
					break drain
				}
			}
			skipped := tc.dropped.Swap(0)
			// What stays queued beyond a batch is skipped too: a page
			// shows the lab now, not a backlog.
			for len(tc.ch) > 0 {
				<-tc.ch
				skipped++
			}
			if len(batch) == 0 && skipped == 0 {
				continue
			}
			if !send("msgs", map[string]any{"msgs": batch, "skipped": skipped}) {
				return
			}
		case <-idle.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
		idle.Reset(keepalive)
	}
}

// panelCommand is one show command of a router's panel.
type panelCommand struct {
	Key  string `json:"key"`
	Line string `json:"line"`
	// JSON is the command's JSON (as `lab cmd --json` prints it), Text
	// its text; Error is set when it failed.
	JSON  json.RawMessage `json:"json,omitempty"`
	Text  string          `json:"text"`
	Error string          `json:"error,omitempty"`
}

// routerPanel is GET /api/router/NAME.
type routerPanel struct {
	Router   string         `json:"router"`
	AS       uint32         `json:"as"`
	RouterID string         `json:"router_id"`
	External bool           `json:"external,omitempty"`
	Commands []panelCommand `json:"commands"`
}

func (s *Server) handleRouter(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rt := s.env.Lab.Router(name)
	if rt == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("no router %q in lab %s", name, s.env.Lab.Name))
		return
	}
	p := routerPanel{Router: rt.Name, AS: rt.AS.Number, RouterID: rt.RouterID.String(), External: rt.External}
	if _, ok := s.env.Routers[name]; ok {
		for _, c := range []struct{ key, cmd string }{
			{"ipv4", "show bgp ipv4"},
			{"ipv6", "show bgp ipv6"},
			{"neighbors", "show bgp neighbors"},
			{"log", "show log"},
		} {
			p.Commands = append(p.Commands, s.panelCommand(r.Context(), c.key, name+" "+c.cmd))
		}
	}
	writeJSON(w, p)
}

// panelCommand runs a show command twice: for its JSON, and its text.
func (s *Server) panelCommand(ctx context.Context, key, line string) panelCommand {
	pc := panelCommand{Key: key, Line: line}
	v, err := s.env.Run(ctx, line, io.Discard, true)
	if err != nil {
		pc.Error = err.Error()
		return pc
	}
	if b, err := json.Marshal(v); err == nil {
		pc.JSON = b
	}
	var text strings.Builder
	if _, err := s.env.Run(ctx, line, &text, false); err != nil {
		pc.Error = err.Error()
	}
	pc.Text = text.String()
	return pc
}

// readAction decodes an action's JSON body (small, and nothing else).
func readAction(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errors.New("actions are JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad action: %w", err)
	}
	return nil
}

// actionResult answers an action and goes to every page's ticker.
type actionResult struct {
	Line   string `json:"line"`
	OK     bool   `json:"ok"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	// Result is the command's JSON result.
	Result json.RawMessage `json:"result,omitempty"`
}

// run runs a command line built from checked words, as the shell would,
// and tells every page.
func (s *Server) run(ctx context.Context, line string, asJSON bool) actionResult {
	var out strings.Builder
	v, err := s.env.Run(ctx, line, &out, asJSON)
	res := actionResult{Line: line, OK: err == nil, Output: out.String()}
	if err != nil {
		res.Error = err.Error()
	}
	if v != nil {
		if b, err := json.Marshal(v); err == nil {
			res.Result = b
		}
	}
	s.watch.poke()
	note := res
	note.Result = nil
	if b, err := json.Marshal(note); err == nil {
		s.acts.sendEvent("action", b)
	}
	return res
}

// linkOps are the operations of `link A B OP`.
var linkOps = map[string]bool{"down": true, "up": true, "blackhole": true, "restore": true}

func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Link *int   `json:"link"`
		Op   string `json:"op"`
	}
	if err := readAction(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	links := s.env.Lab.Links
	if req.Link == nil || *req.Link < 0 || *req.Link >= len(links) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("link: want an index from 0 to %d", len(links)-1))
		return
	}
	if !linkOps[req.Op] {
		writeError(w, http.StatusBadRequest, fmt.Errorf("link: unknown operation %q: want down, up, blackhole or restore", req.Op))
		return
	}
	k := links[*req.Link]
	// `link A B OP` acts on every link between A and B, as in the shell.
	writeJSON(w, s.run(r.Context(), fmt.Sprintf("link %s %s %s", k.A.Node.Name, k.B.Node.Name, req.Op), false))
}

func (s *Server) handleClear(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Router string `json:"router"`
		Soft   bool   `json:"soft"`
	}
	if err := readAction(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if _, ok := s.env.Routers[req.Router]; !ok || s.env.Lab.Router(req.Router) == nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("clear: %q is not a router running the lab's speaker", req.Router))
		return
	}
	line := req.Router + " clear bgp *"
	if req.Soft {
		line += " soft"
	}
	writeJSON(w, s.run(r.Context(), line, false))
}

func (s *Server) handlePingall(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := readAction(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !s.pingMu.TryLock() {
		writeError(w, http.StatusConflict, errors.New("a pingall is running already"))
		return
	}
	defer s.pingMu.Unlock()
	res := s.run(r.Context(), "pingall", true)
	if res.Result != nil {
		s.lastMu.Lock()
		s.lastPing = res.Result
		s.lastMu.Unlock()
		s.acts.sendEvent("ping", res.Result)
	}
	writeJSON(w, res)
}
