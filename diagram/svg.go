package diagram

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// svgStyle is the picture's only style sheet, scoped to the .labgraph root
// so that the SVG can be inlined in a page. The state classes are not
// used by WriteSVG: the page adds them to links (up, down, half: one side
// down, blackhole) and sessions (idle, connect, active, opensent,
// openconfirm, established) as the lab runs.
const svgStyle = `
.labgraph{font-family:Helvetica,Arial,"DejaVu Sans",sans-serif}
.labgraph .as rect{fill:#f3f6fa;stroke:#a3b2c7;stroke-width:1}
.labgraph .as-label{font-size:12px;font-weight:bold;fill:#3d4f6b;stroke:#f3f6fa;stroke-width:4px;stroke-linejoin:round;paint-order:stroke}
.labgraph .node text{text-anchor:middle}
.labgraph .node .name{font-size:12px;font-weight:bold;fill:#14233a}
.labgraph .node .sub{font-size:10px;fill:#58667a}
.labgraph .router rect{fill:#fff;stroke:#24426e;stroke-width:1.5}
.labgraph .router.external rect{fill:#fafafa;stroke-dasharray:5 3}
.labgraph .host rect{fill:#fff7e6;stroke:#a7824a;stroke-width:1.2}
.labgraph .link{stroke:#4a5668;stroke-width:1.8;fill:none}
.labgraph .link.host-link{stroke:#8c96a3;stroke-width:1.4}
.labgraph .link.md5{stroke-width:3.2}
.labgraph .lan .trunk{stroke:#8c96a3;stroke-width:1.4}
.labgraph .lan .bus{stroke:#8c96a3;stroke-width:4;stroke-linecap:round}
.labgraph .session circle{fill:#fff;stroke:#4a5668;stroke-width:1.3}
.labgraph .session.ibgp circle{fill:#d6deea}
.labgraph .link.up{stroke:#2f8f4e}
.labgraph .link.down{stroke:#d23c2f;stroke-dasharray:6 4}
.labgraph .link.half{stroke:#e58a00;stroke-dasharray:9 3 2 3}
.labgraph .link.blackhole{stroke:#111;stroke-dasharray:2 3}
.labgraph .session.established circle{fill:#2f8f4e;stroke:#1f6134}
.labgraph .session.idle circle{fill:#d23c2f;stroke:#8e2219}
.labgraph .session.connect circle,.labgraph .session.active circle{fill:#e58a00;stroke:#9a5c00}
.labgraph .session.opensent circle,.labgraph .session.openconfirm circle{fill:#f2c335;stroke:#9a7a10}
.labgraph .legend text{font-size:11px;fill:#3d4f6b}
`

const legendRow = 24

// WriteSVG writes d as a self-contained SVG document: no fonts, style
// sheets or scripts from elsewhere. Every element the page restyles has
// an id and classes:
//
//	<g id="as-N" class="as">                     an AS's box
//	<text id="as-N-label" class="as-label">      its label, drawn over the links
//	<g id="node-NAME" class="node router|host">  a node (router: also "external"); rect, name, sublabel
//	<line id="link-I" class="link">              a router link (also "md5"); data-a, data-b, data-a-iface, data-b-iface
//	<line id="link-I" class="link host-link">    a host's link; data-lan on a bridged LAN's
//	<g id="lan-ROUTER" class="lan">              a bridged LAN: trunk and bus
//	<g id="session-I" class="session ipv4|ipv6 ebgp|ibgp">
//	    <circle id="session-I-a" data-router="R"/>  the session's A end, likewise -b
//
// The legend is drawn below the diagram's Height.
func (d *Diagram) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	legend, lw, lh := legendItems(max(d.Width-2*margin, 300))
	width, height := max(d.Width, lw+2*margin), d.Height+lh
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" class="labgraph" width="%d" height="%d" viewBox="0 0 %d %d" data-lab="%s">`+"\n",
		width, height, width, height, esc(d.Lab))
	p("<title>lab %s: %d ASes, %d nodes, %d links, %d BGP sessions</title>\n", esc(d.Lab), len(d.ASes), len(d.Nodes), len(d.Links), len(d.Sessions))
	p("<style>%s</style>\n", svgStyle)
	p(`<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)

	p("<g class=\"ases\">\n")
	for _, a := range d.ASes {
		p(`<g id="%s" class="as" data-as="%d"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="8"/></g>`+"\n",
			a.ID, a.Number, esc(a.Label), a.X, a.Y, a.W, a.H)
	}
	p("</g>\n<g class=\"links\">\n")
	for _, k := range d.Links {
		class := "link"
		if k.Kind == "host" {
			class += " host-link"
		}
		if k.MD5 {
			class += " md5"
		}
		p(`<line id="%s" class="%s" x1="%d" y1="%d" x2="%d" y2="%d" data-a="%s" data-b="%s" data-a-iface="%s" data-b-iface="%s"`,
			k.ID, class, k.Points[0].X, k.Points[0].Y, k.Points[len(k.Points)-1].X, k.Points[len(k.Points)-1].Y,
			esc(k.A.Node), esc(k.B.Node), esc(k.A.Interface), esc(k.B.Interface))
		if k.LAN != "" {
			p(` data-lan="%s"`, esc(k.LAN))
		}
		title := linkEndText(k.A) + " — " + linkEndText(k.B)
		if k.MD5 {
			title += " (TCP MD5)"
		}
		p("><title>%s</title></line>\n", esc(title))
	}
	for _, n := range d.LANs {
		p(`<g id="%s" class="lan" data-router="%s"><title>%s</title>`, n.ID, esc(n.Router),
			esc("bridge "+n.Interface+" "+strings.Join(n.Prefixes, " ")))
		p(`<line class="trunk" x1="%d" y1="%d" x2="%d" y2="%d"/>`, n.Trunk[0].X, n.Trunk[0].Y, n.Trunk[1].X, n.Trunk[1].Y)
		p(`<line class="bus" x1="%d" y1="%d" x2="%d" y2="%d"/></g>`+"\n", n.Bus[0].X, n.Bus[0].Y, n.Bus[1].X, n.Bus[1].Y)
	}
	p("</g>\n<g class=\"sessions\">\n")
	for _, s := range d.Sessions {
		kind, kindText := "ebgp", "eBGP"
		if s.IBGP {
			kind, kindText = "ibgp", "iBGP"
		}
		p(`<g id="%s" class="session %s %s" data-link="%d" data-family="%s" data-a="%s" data-b="%s"><title>%s</title>`,
			s.ID, s.Family, kind, s.Link, s.Family, esc(s.A.Router), esc(s.B.Router),
			esc(fmt.Sprintf("%s %s session %s %s — %s %s", "IP"+s.Family[2:], kindText, s.A.Router, s.A.Address, s.B.Router, s.B.Address)))
		p(`<circle id="%s-a" cx="%d" cy="%d" r="3.5" data-router="%s"/>`, s.ID, s.A.X, s.A.Y, esc(s.A.Router))
		p(`<circle id="%s-b" cx="%d" cy="%d" r="3.5" data-router="%s"/></g>`+"\n", s.ID, s.B.X, s.B.Y, esc(s.B.Router))
	}
	// AS labels go over the links, which may cross them, with a halo.
	p("</g>\n<g class=\"as-labels\">\n")
	for _, a := range d.ASes {
		p(`<text id="%s-label" class="as-label" x="%d" y="%d">%s</text>`+"\n", a.ID, a.LabelAt.X, a.LabelAt.Y, esc(a.Label))
	}
	p("</g>\n<g class=\"nodes\">\n")
	for _, n := range d.Nodes {
		class, rx, title := "node "+n.Kind, 4, n.Name
		switch n.Kind {
		case "router":
			title += fmt.Sprintf(" — router of AS %d, ID %s", n.AS, n.RouterID)
			if n.External {
				class += " external"
				title += ", external (runs its own BGP daemon)"
			}
		case "host":
			rx = 12
			title += " — host on " + n.Router
		}
		if len(n.Addresses) > 0 {
			title += "\n" + strings.Join(n.Addresses, "\n")
		}
		cx := n.X + n.W/2
		p(`<g id="%s" class="%s" data-name="%s" data-as="%d"><title>%s</title>`, n.ID, class, esc(n.Name), n.AS, esc(title))
		p(`<rect x="%d" y="%d" width="%d" height="%d" rx="%d"/>`, n.X, n.Y, n.W, n.H, rx)
		p(`<text class="name" x="%d" y="%d">%s</text>`, cx, n.Y+15, esc(n.Label))
		p(`<text class="sub" x="%d" y="%d">%s</text></g>`+"\n", cx, n.Y+29, esc(n.Sublabel))
	}
	p("</g>\n")
	p(`<g class="legend" transform="translate(%d %d)">`+"\n", margin, d.Height)
	p("%s</g>\n</svg>\n", legend)
	return bw.Flush()
}

// legendItems draws the legend (its top-left corner at the origin) in rows
// no wider than maxW, or than its widest item; it returns it with its
// size.
func legendItems(maxW int) (string, int, int) {
	var b strings.Builder
	x, y, w := 0, 0, 0
	item := func(text, shape string) {
		iw := 30 + even(textWidth(text, 11, false))
		if x > 0 && x+iw > maxW {
			x, y = 0, y+legendRow
		}
		// shape's X is the item's left edge, X12 and X24 12 and 24 pixels
		// right of it, Y the row's middle.
		b.WriteString(strings.NewReplacer("X24", fmt.Sprint(x+24), "X12", fmt.Sprint(x+12), "X", fmt.Sprint(x),
			"Y8", fmt.Sprint(y+8), "Y", fmt.Sprint(y+16)).Replace(shape))
		b.WriteString(fmt.Sprintf(`<text x="%d" y="%d">%s</text>`, x+30, y+20, esc(text)))
		w = max(w, x+iw)
		x += iw + 18
	}
	item("router", `<g class="node router"><rect x="X" y="Y8" width="24" height="16" rx="3"/></g>`)
	item("external router", `<g class="node router external"><rect x="X" y="Y8" width="24" height="16" rx="3"/></g>`)
	item("host", `<g class="node host"><rect x="X" y="Y8" width="24" height="16" rx="7"/></g>`)
	item("link", `<line class="link" x1="X" y1="Y" x2="X24" y2="Y"/>`)
	item("TCP MD5", `<line class="link md5" x1="X" y1="Y" x2="X24" y2="Y"/>`)
	item("bridged LAN", `<g class="lan"><line class="bus" x1="X" y1="Y" x2="X24" y2="Y"/></g>`)
	item("eBGP session end", `<g class="session ebgp"><circle cx="X12" cy="Y" r="3.5"/></g>`)
	item("iBGP session end", `<g class="session ibgp"><circle cx="X12" cy="Y" r="3.5"/></g>`)
	return b.String(), w, y + legendRow + 4
}

func linkEndText(e LinkEnd) string {
	s := e.Interface
	if len(e.Addresses) > 0 {
		s += " " + strings.Join(e.Addresses, " ")
	}
	return s
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// esc makes s safe in SVG text and attribute values.
func esc(s string) string { return escaper.Replace(s) }
