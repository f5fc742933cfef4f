// Package diagram draws a lab: it lays out a *topo.Lab deterministically
// (ASes as boxes around their routers, hosts beside their router, links as
// lines) and writes the picture as SVG, or its geometry as JSON for those
// who draw their own. `lab graph` prints it; the lab's web page shows the
// same picture and restyles it live through the ids and classes the SVG
// carries (see WriteSVG).
//
// The same lab always gives the same bytes: the layout uses no map order,
// no clock and no unseeded randomness, and every coordinate is rounded to
// a whole pixel.
//
// # Coordinates
//
// One space serves the SVG, the JSON and the page: pixels, origin at the
// top left, y downwards; the drawing fills (0,0)-(Width,Height). Boxes
// (Rect) are given by their top-left corner and size. No two node boxes
// overlap, no two AS boxes overlap, and every node's box lies inside its
// AS's box.
//
// # JSON
//
// WriteJSON writes the Diagram itself, indented; the field tags below are
// the format. In short:
//
//	{"lab": "simple-bgp", "width": 540, "height": 310,
//	 "ases":  [{"id": "as-1", "number": 1, "name": "", "x":…, "y":…, "w":…, "h":…, "routers": ["as1ra"]}],
//	 "nodes": [{"id": "node-as1ra", "name": "as1ra", "kind": "router", "as": 1, "x":…, "y":…, "w":…, "h":…,
//	            "label": "as1ra", "sublabel": "0.0.0.2", "router_id": "0.0.0.2", "addresses": […]}, …],
//	 "links": [{"id": "link-0", "index": 0, "kind": "router",
//	            "a": {"node": "as1ra", "interface": "as1ra-eth0", "addresses": ["2001:12::a/64", "10.12.0.1/24"]},
//	            "b": {…}, "points": [{"x":…, "y":…}, {"x":…, "y":…}]}, …],
//	 "lans":  [{"id": "lan-cpe", "router": "cpe", "interface": "cpe-eth1", "hosts": […], "trunk": […], "bus": […]}],
//	 "sessions": [{"id": "session-0", "index": 0, "family": "ipv6", "link": 0, "ibgp": false,
//	               "a": {"router": "as1ra", "address": "2001:12::a", "x":…, "y":…}, "b": {…}}]}
package diagram

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strings"

	"lab/topo"
)

// Point is a point of the drawing.
type Point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// Rect is a box: its top-left corner and its size.
type Rect struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Center returns the middle of r.
func (r Rect) Center() Point { return Point{r.X + r.W/2, r.Y + r.H/2} }

// Overlaps reports whether r and s share any area (touching edges do not
// count).
func (r Rect) Overlaps(s Rect) bool {
	return r.X < s.X+s.W && s.X < r.X+r.W && r.Y < s.Y+s.H && s.Y < r.Y+r.H
}

// Contains reports whether s lies inside r.
func (r Rect) Contains(s Rect) bool {
	return s.X >= r.X && s.Y >= r.Y && s.X+s.W <= r.X+r.W && s.Y+s.H <= r.Y+r.H
}

// Diagram is a laid-out lab: everything needed to draw it, and nothing that
// changes while it runs (the page adds link and session states by class).
type Diagram struct {
	// Lab is the lab's name.
	Lab string `json:"lab"`
	// Width and Height bound the drawing, margins included.
	Width  int `json:"width"`
	Height int `json:"height"`
	// ASes are in ascending AS number order (topo.Lab.ASes).
	ASes []AS `json:"ases"`
	// Nodes are the routers in file order, then the hosts (topo.Lab.Nodes).
	Nodes []Node `json:"nodes"`
	// Links are in topo.Lab.Links order: Links[i].Index == i.
	Links []Link `json:"links"`
	// LANs are the bridged LANs (routers with several hosts), in router
	// order; a LAN with one host is just its link.
	LANs []LAN `json:"lans"`
	// Sessions are in topo.Lab.Sessions order.
	Sessions []Session `json:"sessions"`
}

// AS is an AS's box, drawn around its routers and their hosts.
type AS struct {
	ID     string `json:"id"` // "as-<number>"
	Number uint32 `json:"number"`
	Name   string `json:"name,omitempty"`
	Rect
	// Label is the text drawn in the box's top-left corner, or its
	// bottom-left one when links come from above: "AS 1", then the AS's
	// name if it has one. LabelAt is the start of its baseline.
	Label   string   `json:"label"`
	LabelAt Point    `json:"label_at"`
	Routers []string `json:"routers"`
}

// Node is a router's or a host's box.
type Node struct {
	ID   string `json:"id"` // "node-<name>"
	Name string `json:"name"`
	// Kind is "router" or "host".
	Kind string `json:"kind"`
	// AS is the router's AS, or the AS of the host's router.
	AS uint32 `json:"as"`
	Rect
	// Label and Sublabel are the box's two lines: the name, then a
	// router's ID or a host's first address.
	Label    string `json:"label"`
	Sublabel string `json:"sublabel"`
	// RouterID and External are set for routers; Router (the host's
	// router) for hosts.
	RouterID string `json:"router_id,omitempty"`
	External bool   `json:"external,omitempty"`
	Router   string `json:"router,omitempty"`
	// Addresses are the node's addresses, IPv4 first, without lengths.
	Addresses []string `json:"addresses"`
}

// Link is a line between two nodes.
type Link struct {
	ID    string `json:"id"` // "link-<index>"
	Index int    `json:"index"`
	// Kind is "router" for a link between routers, "host" for a router's
	// link to one of its hosts.
	Kind string  `json:"kind"`
	A    LinkEnd `json:"a"`
	B    LinkEnd `json:"b"`
	// LAN is the router whose bridged LAN this host link is part of; such
	// a link is drawn from the LAN's bus down to the host.
	LAN string `json:"lan,omitempty"`
	// MD5 is set when the link's sessions carry a TCP MD5 key.
	MD5 bool `json:"md5,omitempty"`
	// Points is the line, from A's side to B's side, each end on the border
	// of its node's box (or on the LAN's bus).
	Points []Point `json:"points"`
}

// LinkEnd is one end of a link.
type LinkEnd struct {
	Node      string   `json:"node"`
	Interface string   `json:"interface"`
	Addresses []string `json:"addresses"` // with lengths
	// BridgePort is the bridge port towards the host, for links of a
	// bridged LAN (on the router's end).
	BridgePort string `json:"bridge_port,omitempty"`
}

// LAN is a bridged LAN: a bus the hosts hang from, joined to the router by
// its trunk.
type LAN struct {
	ID        string   `json:"id"` // "lan-<router>"
	Router    string   `json:"router"`
	Interface string   `json:"interface"`
	Prefixes  []string `json:"prefixes"`
	Hosts     []string `json:"hosts"`
	// Trunk runs from the router's box to the bus; Bus is the bus's two
	// ends.
	Trunk []Point `json:"trunk"`
	Bus   []Point `json:"bus"`
}

// Session is a BGP session, drawn as a dot on its link near each end.
type Session struct {
	ID    string `json:"id"` // "session-<index>"
	Index int    `json:"index"`
	// Family is "ipv4" or "ipv6".
	Family string `json:"family"`
	// Link is the index of the link the session runs over, or -1 for a
	// session between loopbacks (Loopback).
	Link     int        `json:"link"`
	Loopback bool       `json:"loopback,omitempty"`
	IBGP     bool       `json:"ibgp"`
	A        SessionEnd `json:"a"`
	B        SessionEnd `json:"b"`
}

// SessionEnd is one router's side of a session; the point is its dot.
type SessionEnd struct {
	Router  string `json:"router"`
	Address string `json:"address"`
	Point
}

// WriteJSON writes d as indented JSON (the format is described in the
// package documentation).
func (d *Diagram) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Format is an output format of `lab graph`.
type Format string

// The formats.
const (
	SVG  Format = "svg"
	DOT  Format = "dot"
	JSON Format = "json"
)

// ParseFormat checks a format's name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case SVG, DOT, JSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want svg, dot or json", s)
}

// Write writes the lab in format f: the diagram as SVG or JSON, or the
// Graphviz graph of topo.WriteDOT.
func Write(w io.Writer, l *topo.Lab, f Format) error {
	switch f {
	case SVG:
		return New(l).WriteSVG(w)
	case JSON:
		return New(l).WriteJSON(w)
	case DOT:
		return topo.WriteDOT(w, l)
	}
	return fmt.Errorf("unknown format %q: want svg, dot or json", string(f))
}

// Sizes of the drawing, in pixels. Box sizes are even so that centres
// fall on whole pixels.
const (
	nameFont   = 12 // node names, bold
	subFont    = 10 // router IDs and host addresses
	asFont     = 12 // AS labels, bold
	nodeH      = 36 // a node box: two lines
	nodePadX   = 9
	hostGap    = 26 // router box to a lone host's box
	lanGap     = 44 // router box to a bridged LAN's hosts; the bus halfway
	hostSpace  = 12 // between the hosts of a LAN
	unitGap    = 34 // between two routers' groups (router and hosts) in an AS
	unitLink   = 60 // wanted space between two linked routers' groups
	asPad      = 12 // AS box to its content
	asLabelH   = 18 // the AS label's band at the top (or bottom) of its box
	asGap      = 30 // between AS boxes
	asLink     = 70 // wanted space between two linked ASes
	margin     = 16
	parallel   = 9  // between parallel links of one router pair
	sessionOff = 9  // a link's end to its first session dot
	sessionGap = 10 // between a link's session dots
)

func even(x float64) int {
	n := int(math.Ceil(x))
	return n + n%2
}

// family names a session's family as the JSON and the SVG's classes do.
func family(f topo.Family) string {
	if f == topo.IPv4 {
		return "ipv4"
	}
	return "ipv6"
}

func addrs(ps []netip.Prefix, withLen bool) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if withLen {
			out[i] = p.String()
		} else {
			out[i] = p.Addr().String()
		}
	}
	return out
}

func nodeAddrs(n *topo.Node) []string {
	as := n.Addrs()
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
