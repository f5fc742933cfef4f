// The lab's live page. The server sends the state over server-sent events
// (/api/events); this script restyles the inlined diagram through its ids
// and classes (see package diagram's WriteSVG), fills the router and link
// panels, the message ticker and the reachability matrix, and sends the
// actions (POST, with the page's token) unless the page is read-only.
"use strict";

(function () {
  const body = document.body;
  const readOnly = body.dataset.readonly === "true";
  const tokenMeta = document.querySelector('meta[name="lab-token"]');
  const token = tokenMeta ? tokenMeta.content : "";
  const svg = document.querySelector("#graph > svg.labgraph");
  const linkStates = ["up", "down", "half", "blackhole", "unknown"];
  const fsmStates = ["idle", "connect", "active", "opensent", "openconfirm", "established", "unknown"];

  let diagram = null;      // /api/diagram
  const state = { links: {}, sessions: {}, routers: {} };
  let selected = null;     // {kind: "router"|"host"|"link", name|index}
  let panelRouterCount = -1;
  let panelTimer = null;

  // The token came in the URL: the cookie has it now; keep it off the
  // address bar (and the projector).
  if (location.search.includes("token=")) {
    history.replaceState(null, "", location.pathname);
  }

  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) {
      if (k == null) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  };

  // ---- the diagram: fit, zoom and pan ----
  const full = { w: +svg.getAttribute("width"), h: +svg.getAttribute("height") };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  let view = { x: 0, y: 0, w: full.w, h: full.h };
  const setView = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  const zoom = (f, cx, cy) => {
    const nw = Math.min(full.w * 4, Math.max(full.w / 20, view.w * f));
    const k = nw / view.w;
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    view = { x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k, w: view.w * k, h: view.h * k };
    setView();
  };
  const fit = () => { view = { x: 0, y: 0, w: full.w, h: full.h }; setView(); };
  const toSVG = (ev) => {
    const p = svg.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  };
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = toSVG(ev);
    zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { start: toSVG(ev), moved: false, id: ev.pointerId };
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const p = toSVG(ev);
    const dx = p.x - drag.start.x, dy = p.y - drag.start.y;
    if (!drag.moved && Math.hypot(dx, dy) < 3) return;
    if (!drag.moved) { svg.setPointerCapture(drag.id); svg.classList.add("dragging"); }
    drag.moved = true;
    view.x -= dx; view.y -= dy;
    setView();
  });
  const endDrag = () => {
    if (drag && drag.moved) {
      svg.classList.remove("dragging");
      // The click that ends a drag selects nothing.
      svg.addEventListener("click", (e) => e.stopPropagation(), { capture: true, once: true });
    }
    drag = null;
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("dblclick", fit);
  document.getElementById("zoom-in").addEventListener("click", () => zoom(1 / 1.3));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(1.3));
  document.getElementById("zoom-fit").addEventListener("click", fit);
  // The legend under the diagram repeats the page's: leave it out of the fit.
  const svgLegend = svg.querySelector("g.legend");
  if (svgLegend) {
    const m = /translate\(\s*[-\d.]+[ ,]+([-\d.]+)\s*\)/.exec(svgLegend.getAttribute("transform") || "");
    svgLegend.remove();
    if (m) {
      full.h = +m[1];
      const bg = svg.querySelector(":scope > rect");
      if (bg) bg.setAttribute("height", full.h);
    }
  }
  fit();

  // Thin lines are hard to hit: a wide transparent twin takes the clicks.
  const hits = document.createElementNS("http://www.w3.org/2000/svg", "g");
  hits.setAttribute("class", "hits");
  for (const ln of svg.querySelectorAll("line.link[id^='link-']")) {
    const h = ln.cloneNode(false);
    h.removeAttribute("id");
    h.setAttribute("class", "hit");
    h.dataset.link = ln.id;
    hits.append(h);
  }
  svg.querySelector("g.links").after(hits);

  svg.addEventListener("click", (ev) => {
    const hit = ev.target.closest(".hit");
    if (hit) { select({ kind: "link", index: +hit.dataset.link.slice(5) }); return; }
    const node = ev.target.closest("g.node[id^='node-']");
    if (node) {
      select(node.classList.contains("router") ? { kind: "router", name: node.dataset.name } : { kind: "host", name: node.dataset.name });
    }
  });

  // ---- state ----
  const setClass = (e, list, cls) => {
    if (!e) return;
    e.classList.remove(...list);
    e.classList.add(cls);
  };
  const applyState = (d) => {
    for (const [id, st] of Object.entries(d.links || {})) {
      state.links[id] = st;
      const e = document.getElementById(id);
      if (e && !e.classList.contains(st)) {
        setClass(e, linkStates, st);
        e.classList.remove("flash");
        void e.getBBox();
        e.classList.add("flash");
      }
    }
    for (const [id, s] of Object.entries(d.sessions || {})) {
      state.sessions[id] = s;
      setClass(document.getElementById(id), fsmStates, s.state);
      for (const end of ["a", "b"]) {
        const c = document.getElementById(`${id}-${end}`);
        const st = (s[end] || "").toLowerCase();
        if (c) { c.classList.remove(...fsmStates.map((x) => "st-" + x)); if (st) c.classList.add("st-" + st); }
      }
    }
    let routerChanged = false;
    for (const [name, n] of Object.entries(d.routers || {})) {
      state.routers[name] = n;
      if (selected && selected.kind === "router" && selected.name === name) routerChanged = true;
    }
    stats();
    if (selected && selected.kind === "link") renderLinkPanel(false);
    if (routerChanged) schedulePanelRefresh();
  };
  const stats = () => {
    const ls = Object.values(state.links), ss = Object.values(state.sessions);
    const up = ls.filter((s) => s === "up").length, est = ss.filter((s) => s.state === "established").length;
    const sl = document.getElementById("stat-links"), sse = document.getElementById("stat-sessions");
    sl.textContent = `links ${up}/${ls.length} up`;
    sl.className = "stat " + (up === ls.length ? "good" : "bad");
    sse.textContent = `sessions ${est}/${ss.length} Established`;
    sse.className = "stat " + (est === ss.length ? "good" : "bad");
  };

  // ---- events ----
  const conn = document.getElementById("conn");
  const connect = () => {
    const es = new EventSource("/api/events");
    es.onopen = () => { conn.textContent = "live"; conn.className = "conn live"; };
    es.onerror = () => { conn.textContent = "reconnecting…"; conn.className = "conn off"; };
    es.addEventListener("snapshot", (e) => applyState(JSON.parse(e.data)));
    es.addEventListener("update", (e) => applyState(JSON.parse(e.data)));
    es.addEventListener("msgs", (e) => ticker(JSON.parse(e.data)));
    es.addEventListener("ping", (e) => matrix(JSON.parse(e.data)));
    es.addEventListener("action", (e) => tickerAction(JSON.parse(e.data)));
  };

  // ---- ticker ----
  const tick = document.getElementById("ticker");
  const showKA = document.getElementById("show-keepalive");
  const pause = document.getElementById("pause-ticker");
  const tickNote = document.getElementById("ticker-note");
  let skippedTotal = 0;
  const maxTicker = 300;
  const pushTicker = (li) => {
    tick.prepend(li);
    while (tick.childElementCount > maxTicker) tick.lastElementChild.remove();
  };
  const ticker = (d) => {
    if (d.skipped) { skippedTotal += d.skipped; tickNote.textContent = `${skippedTotal} messages skipped (too many to show)`; }
    if (pause.checked) return;
    for (const m of d.msgs || []) {
      if (m.type === "KEEPALIVE" && !showKA.checked) continue;
      let text = m.text || "";
      if (text.startsWith(m.type)) text = text.slice(m.type.length).trim();
      pushTicker(el("li", { class: m.type, title: m.text },
        el("span", { class: "t" }, m.t), el("span", { class: "who" }, `${m.from} → ${m.to}`),
        el("span", { class: "ty" }, m.type), text));
    }
  };
  const tickerAction = (a) => {
    const now = new Date().toTimeString().slice(0, 8);
    pushTicker(el("li", { class: "cmd", title: a.output || a.error || "" },
      el("span", { class: "t" }, now), el("span", { class: "ty" }, a.ok ? "command" : "failed"),
      a.line, a.error ? ` — ${a.error}` : ""));
  };

  // ---- reachability ----
  const hosts = () => diagram ? diagram.nodes.filter((n) => n.kind === "host").map((n) => n.name) : [];
  const get = (o, ...names) => {
    if (!o || typeof o !== "object") return undefined;
    for (const n of names) {
      if (n in o) return o[n];
      const k = Object.keys(o).find((x) => x.toLowerCase() === n.toLowerCase());
      if (k !== undefined) return o[k];
    }
    return undefined;
  };
  const matrix = (sum) => {
    const box = document.getElementById("matrix");
    const hs = hosts();
    const res = {};
    for (const r of get(sum, "results") || []) {
      const k = `${get(r, "src", "source")}|${get(r, "dst", "destination")}`;
      (res[k] = res[k] || []).push(r);
    }
    const t = el("table");
    const head = el("tr", {}, el("th", {}, "from \\ to"));
    for (const h of hs) head.append(el("th", {}, h));
    t.append(head);
    for (const s of hs) {
      const tr = el("tr", {}, el("th", {}, s));
      for (const d of hs) {
        if (s === d) { tr.append(el("td", { class: "self" }, "—")); continue; }
        const rs = res[`${s}|${d}`];
        if (!sum || !rs) { tr.append(el("td", { title: `${s} → ${d}: not pinged` }, "")); continue; }
        const ok = rs.filter((r) => get(r, "ok", "success")).length;
        const cls = ok === rs.length ? "ok" : ok === 0 ? "fail" : "partial";
        const title = rs.map((r) => `${get(r, "family") || ""} ${get(r, "addr") || ""}: ${get(r, "ok", "success") ? `ok ${(get(r, "rtt_ms") || 0).toFixed(2)} ms` : (get(r, "error") || "lost")}`).join("\n");
        tr.append(el("td", { class: cls, title: `${s} → ${d}\n${title}` }, cls === "ok" ? "✓" : cls === "fail" ? "✗" : "½"));
      }
      t.append(tr);
    }
    box.replaceChildren(hs.length ? t : "");
    box.classList.toggle("small", hs.length > 16);
    const note = document.getElementById("matrix-note");
    if (sum) {
      const sent = get(sum, "sent") || 0, rcvd = get(sum, "received") || 0;
      note.textContent = `${rcvd}/${sent} echoes answered (${get(sum, "dropped_pct") ?? 0}% dropped)`;
    } else {
      note.textContent = hs.length ? (readOnly ? "pingall fills it" : "press pingall to fill it") : "no hosts in this lab";
    }
  };

  // ---- actions ----
  const post = async (path, payload) => {
    const r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Lab-Token": token },
      body: JSON.stringify(payload),
    });
    let j = null;
    try { j = await r.json(); } catch (e) { j = { ok: false, error: `HTTP ${r.status}` }; }
    if (!r.ok && j.ok === undefined) j.ok = false;
    return j;
  };
  const actionButton = (label, cls, path, payload, out) => el("button", {
    type: "button", class: "action " + (cls || ""), "data-action": label,
    onclick: async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      try {
        const j = await post(path, payload);
        if (out) {
          out.className = "result" + (j.ok ? "" : " err");
          out.textContent = j.ok ? (j.output || "done").trim() : (j.error || "failed");
        }
      } catch (e) {
        if (out) { out.className = "result err"; out.textContent = String(e); }
      } finally { b.disabled = false; }
    },
  }, label);
  const pingBtn = document.getElementById("pingall");
  if (pingBtn) {
    pingBtn.addEventListener("click", async () => {
      pingBtn.disabled = true;
      document.getElementById("matrix-note").textContent = "pinging…";
      try {
        const j = await post("/api/pingall", {});
        if (j.result) matrix(j.result);
        else document.getElementById("matrix-note").textContent = j.error || "pingall failed";
      } finally { pingBtn.disabled = false; }
    });
  }

  // ---- panels ----
  const panel = document.getElementById("panel-body");
  const select = (sel) => {
    for (const e of svg.querySelectorAll(".selected")) e.classList.remove("selected");
    selected = sel;
    panelRouterCount = -1;
    if (sel.kind === "link") {
      document.getElementById(`link-${sel.index}`)?.classList.add("selected");
      renderLinkPanel(true);
    } else {
      document.getElementById(`node-${sel.name}`)?.classList.add("selected");
      if (sel.kind === "router") loadRouter(sel.name, true);
      else renderHostPanel(sel.name);
    }
  };
  const nodeOf = (name) => diagram && diagram.nodes.find((n) => n.name === name);
  const stateBadge = (s) => el("span", { class: "st " + String(s || "unknown").toLowerCase() }, s || "unknown");

  const renderHostPanel = (name) => {
    const n = nodeOf(name);
    panel.replaceChildren(el("h2", {}, `${name}`),
      el("div", { class: "kv" }, "host on ", el("b", {}, n ? n.router : "?"), ` (AS ${n ? n.as : "?"})`),
      el("h3", {}, "Addresses"), el("pre", {}, n ? n.addresses.join("\n") : ""));
  };

  const renderLinkPanel = (fresh) => {
    if (!diagram) return;
    const k = diagram.links[selected.index];
    if (!k) return;
    const st = state.links[k.id] || "unknown";
    if (!fresh && panel.dataset.for === k.id + st + JSON.stringify(sessionsOf(k.index).map((s) => state.sessions[s.id]))) return;
    panel.dataset.for = k.id + st + JSON.stringify(sessionsOf(k.index).map((s) => state.sessions[s.id]));
    const out = el("div", { class: "result" });
    const kids = [
      el("h2", {}, `${k.a.node} — ${k.b.node}`),
      el("div", { class: "kv" }, "link ", el("b", {}, k.id), "  ", stateBadge(st)),
    ];
    if (!readOnly) {
      kids.push(el("div", { class: "actions" },
        actionButton("down", "danger", "/api/link", { link: k.index, op: "down" }, out),
        actionButton("up", "", "/api/link", { link: k.index, op: "up" }, out),
        actionButton("blackhole", "warn", "/api/link", { link: k.index, op: "blackhole" }, out),
        actionButton("restore", "", "/api/link", { link: k.index, op: "restore" }, out)), out);
    }
    const ends = el("table", { class: "data" }, el("tr", {}, el("th", {}, "end"), el("th", {}, "interface"), el("th", {}, "addresses")));
    for (const e of [k.a, k.b]) ends.append(el("tr", {}, el("td", {}, e.node), el("td", {}, e.interface), el("td", {}, (e.addresses || []).join(" "))));
    kids.push(el("h3", {}, "Ends"), ends);
    const ss = sessionsOf(k.index);
    if (ss.length) {
      const t = el("table", { class: "data" }, el("tr", {}, el("th", {}, "session"), el("th", {}, "A end"), el("th", {}, "B end")));
      for (const s of ss) {
        const v = state.sessions[s.id] || {};
        t.append(el("tr", {}, el("td", {}, `${s.family} ${s.ibgp ? "iBGP" : "eBGP"}`),
          el("td", {}, `${s.a.router} `, stateBadge(v.a)), el("td", {}, `${s.b.router} `, stateBadge(v.b))));
      }
      kids.push(el("h3", {}, "BGP sessions"), t);
    }
    panel.replaceChildren(...kids);
  };
  const sessionsOf = (i) => diagram ? diagram.sessions.filter((s) => s.link === i) : [];

  const schedulePanelRefresh = () => {
    if (panelTimer) return;
    panelTimer = setTimeout(() => { panelTimer = null; if (selected && selected.kind === "router") loadRouter(selected.name, false); }, 700);
  };

  let routerTab = "table";
  const loadRouter = async (name, fresh) => {
    if (fresh) panel.replaceChildren(el("h2", {}, name), el("p", {}, "loading…"));
    let j;
    try {
      const r = await fetch(`/api/router/${encodeURIComponent(name)}`, { credentials: "same-origin" });
      j = await r.json();
    } catch (e) {
      panel.replaceChildren(el("h2", {}, name), el("p", { class: "result err" }, String(e)));
      return;
    }
    if (!selected || selected.kind !== "router" || selected.name !== name) return;
    renderRouterPanel(j);
  };

  // Adapters: the show commands' JSON, whichever key names it uses (this
  // program's, or FRR's), to what the panel draws. Unknown shapes fall
  // back to the command's text.
  const str = (v) => v == null ? "" : String(v);
  const normTable = (j) => {
    let routes = get(j, "routes", "Routes");
    if (!routes) return null;
    const out = [];
    const path = (p) => {
      const nhs = get(p, "nexthops");
      const nh = Array.isArray(nhs) && nhs.length ? get(nhs[0], "ip", "address") : get(p, "nexthop", "NextHop", "next_hop");
      const hasMetric = get(p, "HasMetric");
      const hasLP = get(p, "HasLocPrf");
      return {
        valid: !!get(p, "valid", "Valid"), best: !!get(p, "bestpath", "best", "Best"),
        internal: get(p, "pathFrom") === "internal" || !!get(p, "Internal"),
        nexthop: str(nh), metric: hasMetric === false ? "" : str(get(p, "metric", "med", "Metric")),
        locprf: hasLP === false ? "" : str(get(p, "locPrf", "localpref", "LocPrf")),
        weight: str(get(p, "weight", "Weight")),
        path: str(get(p, "path", "aspath", "ASPath", "as_path")), origin: str(get(p, "origin", "Origin")),
      };
    };
    if (Array.isArray(routes)) {
      for (const r of routes) out.push({ prefix: str(get(r, "prefix", "Prefix", "network")), paths: (get(r, "paths", "Paths") || []).map(path) });
    } else if (typeof routes === "object") {
      for (const [pfx, ps] of Object.entries(routes)) out.push({ prefix: pfx, paths: (Array.isArray(ps) ? ps : get(ps, "paths") || []).map(path) });
    } else return null;
    return out;
  };
  const dur = (v) => {
    if (typeof v === "string") return v;
    if (typeof v !== "number") return "";
    let s = Math.floor(v / 1e9);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s %= 60;
    return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  };
  const normNeighbors = (j) => {
    const one = (addr, n) => {
      const fams = get(n, "Families", "addressFamilyInfo");
      let pfx = get(n, "pfxRcd", "prefixReceivedCount");
      const famList = Array.isArray(fams) ? fams : fams && typeof fams === "object" ? Object.values(fams) : null;
      if (pfx === undefined && famList) pfx = famList.reduce((a, f) => a + (get(f, "AcceptedPrefixes", "acceptedPrefixCounter") || 0), 0);
      return {
        addr: addr || str(get(n, "addr", "Addr", "address", "neighbor")),
        as: str(get(n, "remoteAs", "RemoteAS", "remote_as")),
        desc: str(get(n, "nbrDesc", "Description", "description")),
        state: str(get(n, "bgpState", "State", "state")),
        uptime: dur(get(n, "bgpTimerUpString", "Uptime", "uptime")),
        pfx: pfx === undefined ? "" : str(pfx),
      };
    };
    if (Array.isArray(j)) return j.map((n) => one("", n));
    if (j && typeof j === "object") return Object.entries(j).filter(([, n]) => n && typeof n === "object").map(([a, n]) => one(a, n));
    return null;
  };
  const normLog = (j) => Array.isArray(j) ? j.map(str) : Array.isArray(get(j, "lines", "log")) ? get(j, "lines", "log").map(str) : null;

  const tableView = (rows, title) => {
    const t = el("table", { class: "data" }, el("tr", {}, ...["", "network", "next hop", "metric", "locprf", "path"].map((h) => el("th", {}, h))));
    for (const r of rows) {
      r.paths.forEach((p, i) => {
        const code = (p.valid ? "*" : " ") + (p.best ? ">" : " ") + (p.internal ? "i" : "");
        t.append(el("tr", { class: (p.best ? "best" : "") + (p.valid ? "" : " invalid") },
          el("td", {}, code), el("td", { class: i === 0 ? "" : "dim" }, r.prefix), el("td", {}, p.nexthop),
          el("td", {}, p.metric), el("td", {}, p.locprf), el("td", {}, `${p.path} ${originCode(p.origin)}`.trim())));
      });
    }
    return [el("h3", {}, `${title}: ${rows.length} prefixes`), rows.length ? t : el("p", {}, "no routes")];
  };
  const originCode = (o) => ({ igp: "i", IGP: "i", egp: "e", EGP: "e", incomplete: "?", INCOMPLETE: "?" })[o] ?? o;

  const renderRouterPanel = (j) => {
    const cmds = {};
    for (const c of j.commands || []) cmds[c.key] = c;
    panelRouterCount = state.routers[j.router];
    const keep = panel.querySelector(".tabbody");
    const scroll = keep ? keep.scrollTop : 0;
    panel.dataset.for = j.router;
    const kids = [
      el("h2", {}, j.router),
      el("div", { class: "kv" }, `AS `, el("b", {}, j.as), `  router ID `, el("b", {}, j.router_id), j.external ? "  external router (its own BGP daemon)" : ""),
    ];
    const out = el("div", { class: "result" });
    if (!readOnly && !j.external) {
      kids.push(el("div", { class: "actions" },
        actionButton("clear bgp *", "danger", "/api/clear", { router: j.router, soft: false }, out),
        actionButton("clear bgp * soft", "", "/api/clear", { router: j.router, soft: true }, out)), out);
    }
    if (j.external) {
      kids.push(el("p", {}, "This router runs its own BGP daemon: the lab has no table of it."));
      panel.replaceChildren(...kids);
      return;
    }
    const tabs = [["table", "BGP table"], ["neighbors", "Neighbours"], ["log", "Log"], ["text", "As in the shell"]];
    const bar = el("div", { class: "tabs" });
    for (const [k, label] of tabs) {
      bar.append(el("button", { type: "button", class: routerTab === k ? "on" : "", "data-tab": k, onclick: () => { routerTab = k; renderRouterPanel(j); } }, label));
    }
    kids.push(bar);
    const tb = el("div", { class: "tabbody", id: "router-" + routerTab });
    const fallback = (c) => el("pre", {}, c ? (c.error || c.text) : "");
    if (routerTab === "table") {
      for (const [key, title] of [["ipv4", "IPv4 unicast"], ["ipv6", "IPv6 unicast"]]) {
        const c = cmds[key];
        const rows = c && !c.error ? normTable(c.json) : null;
        if (rows) tb.append(...tableView(rows, title));
        else tb.append(el("h3", {}, title), fallback(c));
      }
    } else if (routerTab === "neighbors") {
      const c = cmds.neighbors;
      const ns = c && !c.error ? normNeighbors(c.json) : null;
      if (ns) {
        const t = el("table", { class: "data" }, el("tr", {}, ...["neighbour", "AS", "state", "up/down", "prefixes"].map((h) => el("th", {}, h))));
        for (const n of ns) t.append(el("tr", {}, el("td", { title: n.desc }, n.addr), el("td", {}, n.as), el("td", {}, stateBadge(n.state)), el("td", {}, n.uptime), el("td", {}, n.pfx)));
        tb.append(t);
      } else tb.append(fallback(c));
    } else if (routerTab === "log") {
      const c = cmds.log;
      const lines = c && !c.error ? normLog(c.json) : null;
      tb.append(el("pre", {}, lines ? lines.slice(-200).join("\n") : (c ? c.error || c.text : "")));
    } else {
      for (const c of j.commands || []) tb.append(el("h3", {}, c.line), el("pre", {}, c.error ? c.error : c.text));
    }
    kids.push(tb);
    panel.replaceChildren(...kids);
    tb.scrollTop = scroll;
  };

  // ---- start ----
  fetch("/api/diagram", { credentials: "same-origin" }).then((r) => r.json()).then((d) => {
    diagram = d;
    matrix(null);
    connect();
  }).catch((e) => { conn.textContent = "cannot load: " + e; });
})();
