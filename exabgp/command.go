package exabgp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"lab/speaker"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

// Kind says what a Command does.
type Kind uint8

// Command kinds, named after ExaBGP 4's commands.
const (
	// AnnounceRoute: `announce route PREFIX ATTRIBUTES...` or `announce
	// attributes ATTRIBUTES... nlri PREFIX...` (Command.Routes).
	AnnounceRoute Kind = iota + 1
	// WithdrawRoute: `withdraw route PREFIX [ATTRIBUTES...]` or
	// `withdraw attributes [ATTRIBUTES...] nlri PREFIX...`.
	WithdrawRoute
	// AnnounceEOR: `announce eor [AFI SAFI]` (Command.Family, IPv4
	// unicast by default, as ExaBGP).
	AnnounceEOR
	// AnnounceRefresh: `announce route-refresh AFI SAFI`.
	AnnounceRefresh
	// ShowNeighbor: `show neighbor [ADDR] summary|extensive`.
	ShowNeighbor
	// ShowAdjRIB: `show adj-rib in|out [extensive] [ADDR]`.
	ShowAdjRIB
	// Teardown: `teardown SUBCODE`: a Cease with that subcode, and the
	// session starts again.
	Teardown
	// Shutdown: `shutdown`: every session goes administratively down.
	Shutdown
	// Comment: a line starting with `#`; it only gets its `done`.
	Comment
)

var kindNames = [...]string{
	AnnounceRoute: "announce route", WithdrawRoute: "withdraw route", AnnounceEOR: "announce eor",
	AnnounceRefresh: "announce route-refresh", ShowNeighbor: "show neighbor", ShowAdjRIB: "show adj-rib",
	Teardown: "teardown", Shutdown: "shutdown", Comment: "#",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Selector is one `neighbor ADDR [local-ip ADDR] [local-as N] [peer-as
// N] [router-id ID]` prefix: the sessions a command is limited to. Zero
// fields match anything.
type Selector struct {
	Neighbor netip.Addr
	LocalIP  netip.Addr
	LocalAS  uint32
	PeerAS   uint32
	RouterID netip.Addr
}

// String renders the selector as ExaBGP's words.
func (s Selector) String() string {
	b := "neighbor " + s.Neighbor.String()
	if s.LocalIP.IsValid() {
		b += " local-ip " + s.LocalIP.String()
	}
	if s.LocalAS != 0 {
		b += " local-as " + strconv.FormatUint(uint64(s.LocalAS), 10)
	}
	if s.PeerAS != 0 {
		b += " peer-as " + strconv.FormatUint(uint64(s.PeerAS), 10)
	}
	if s.RouterID.IsValid() {
		b += " router-id " + s.RouterID.String()
	}
	return b
}

// Command is one line of ExaBGP 4's text API, parsed. The lab's shell
// parses its `ROUTER announce|withdraw ...` lines with ParseCommand too.
type Command struct {
	Kind Kind
	// Neighbors limits the command to the sessions one of them selects;
	// empty: every session.
	Neighbors []Selector
	// Routes are the routes of AnnounceRoute (with their attributes; a
	// zero NextHop is `next-hop self`) and WithdrawRoute (what counts is
	// the prefix). Peers is left empty: Run fills it from Neighbors.
	Routes []speaker.Origination
	// Family is AnnounceEOR's and AnnounceRefresh's.
	Family wire.Family
	// ShowNeighbor: Summary or Extensive (neither: ExaBGP's hint).
	// ShowAdjRIB: In (else out) and Extensive.
	Summary, Extensive, In bool
	// Filter is the neighbour a show command names after its words.
	Filter netip.Addr
	// Subcode is Teardown's Cease subcode.
	Subcode uint8
}

// Syntax errors say what is accepted.
var (
	errVerbs      = "announce, withdraw, show, teardown, shutdown, neighbor ADDR ..., or # (a comment)"
	errAnnounce   = "route, attributes, eor, route-refresh"
	errWithdraw   = "route, attributes"
	errShow       = "neighbor, adj-rib"
	errAttributes = "next-hop, origin, as-path, med, local-preference, community, large-community, extended-community, atomic-aggregate, aggregator"
	errSelector   = "local-ip, local-as, peer-as, router-id"
)

// unsupported are ExaBGP's words this speaker does not do, so that the
// error says so rather than calling them unknown.
var unsupported = map[string]bool{
	"flow": true, "vpls": true, "operational": true, "watchdog": true, "ipv4": true, "ipv6": true, "l2vpn": true,
	"path-information": true, "rd": true, "route-distinguisher": true, "label": true, "bgp-prefix-sid": true,
	"bgp-prefix-sid-srv6": true, "attribute": true, "originator-id": true, "cluster-list": true, "aigp": true,
	"name": true, "split": true, "withdraw": true, "family-allowed": true, "reload": true, "restart": true,
	"version": true, "help": true, "reset": true, "crash": true, "flush": true, "clear": true, "configuration": true,
	"enable-ack": true, "disable-ack": true, "silence-ack": true,
}

func unknown(word, accepted string) error {
	if unsupported[word] {
		return fmt.Errorf("%q is ExaBGP's but not supported here (accepted: %s)", word, accepted)
	}
	return fmt.Errorf("unknown word %q (accepted: %s)", word, accepted)
}

// Tokens splits a line into words as ExaBGP does: brackets, parentheses
// and commas are words of their own, and spaces and tabs separate words.
func Tokens(line string) []string {
	r := strings.NewReplacer("[", " [ ", "]", " ] ", "(", " ( ", ")", " ) ", ",", " , ", "\t", " ")
	return strings.Fields(r.Replace(line))
}

// ParseCommand parses one line of ExaBGP 4's text API. The error says
// what is wrong and what would have been accepted.
func ParseCommand(line string) (*Command, error) {
	t := &tokens{words: Tokens(line)}
	if len(t.words) == 0 {
		return nil, errors.New("empty command")
	}
	if strings.HasPrefix(t.words[0], "#") {
		return &Command{Kind: Comment}, nil
	}
	c := &Command{}
	if err := c.parseSelectors(t); err != nil {
		return nil, err
	}
	verb := t.next()
	var err error
	switch verb {
	case "announce":
		err = c.parseAnnounce(t)
	case "withdraw":
		err = c.parseWithdraw(t)
	case "show":
		err = c.parseShow(t)
	case "teardown":
		c.Kind = Teardown
		c.Subcode = wire.SubcodeAdminShutdown
		if w := t.next(); w != "" {
			n, perr := strconv.ParseUint(w, 10, 8)
			if perr != nil {
				return nil, fmt.Errorf("teardown %q: the Cease subcode is a number from 0 to 255", w)
			}
			c.Subcode = uint8(n)
		}
	case "shutdown":
		c.Kind = Shutdown
	case "":
		return nil, fmt.Errorf("a command must follow the neighbor selection (accepted: %s)", errVerbs)
	default:
		return nil, unknown(verb, errVerbs)
	}
	if err != nil {
		return nil, err
	}
	if w := t.next(); w != "" {
		return nil, fmt.Errorf("%s: unexpected %q at the end", c.Kind, w)
	}
	return c, nil
}

// tokens is a cursor over a line's words.
type tokens struct {
	words []string
	i     int
}

func (t *tokens) next() string {
	if t.i >= len(t.words) {
		return ""
	}
	t.i++
	return t.words[t.i-1]
}

func (t *tokens) peek() string {
	if t.i >= len(t.words) {
		return ""
	}
	return t.words[t.i]
}

func (t *tokens) more() bool { return t.i < len(t.words) }

// parseSelectors reads the `neighbor ADDR [KEY VALUE]... [, neighbor
// ...]` prefix, if any.
func (c *Command) parseSelectors(t *tokens) error {
	for t.peek() == "neighbor" {
		t.next()
		a, err := netip.ParseAddr(t.next())
		if err != nil {
			return fmt.Errorf("neighbor: %w", err)
		}
		s := Selector{Neighbor: a}
		for {
			key := t.peek()
			var err error
			switch key {
			case "local-ip":
				t.next()
				s.LocalIP, err = netip.ParseAddr(t.next())
			case "router-id":
				t.next()
				s.RouterID, err = netip.ParseAddr(t.next())
				if err == nil && !s.RouterID.Is4() {
					err = fmt.Errorf("%v is not an IPv4 address", s.RouterID)
				}
			case "local-as":
				t.next()
				s.LocalAS, err = parseASN(t.next())
			case "peer-as":
				t.next()
				s.PeerAS, err = parseASN(t.next())
			case "family-allowed":
				return unknown(key, errSelector)
			default:
				key = ""
			}
			if err != nil {
				return fmt.Errorf("neighbor %v %s: %w", a, key, err)
			}
			if key == "" {
				break
			}
		}
		c.Neighbors = append(c.Neighbors, s)
		if t.peek() != "," {
			return nil
		}
		t.next()
		if t.peek() != "neighbor" {
			return fmt.Errorf("a comma in the neighbor selection must be followed by another neighbor, not %q", t.peek())
		}
	}
	return nil
}

func parseASN(w string) (uint32, error) {
	// ExaBGP also takes asdot ("1.10").
	if hi, lo, ok := strings.Cut(w, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("AS number %q", w)
		}
		return uint32(h<<16 | l), nil
	}
	n, err := strconv.ParseUint(w, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("AS number %q", w)
	}
	return uint32(n), nil
}

func (c *Command) parseAnnounce(t *tokens) error {
	switch w := t.next(); w {
	case "route":
		c.Kind = AnnounceRoute
		return c.parseRoute(t, true)
	case "attribute", "attributes":
		c.Kind = AnnounceRoute
		return c.parseAttributes(t, true)
	case "eor":
		c.Kind = AnnounceEOR
		c.Family = wire.IPv4Unicast
		if !t.more() {
			return nil
		}
		f, err := parseFamily(t)
		c.Family = f
		return err
	case "route-refresh":
		c.Kind = AnnounceRefresh
		f, err := parseFamily(t)
		c.Family = f
		return err
	case "":
		return fmt.Errorf("announce what? (accepted: %s)", errAnnounce)
	default:
		return unknown(w, errAnnounce)
	}
}

func (c *Command) parseWithdraw(t *tokens) error {
	c.Kind = WithdrawRoute
	switch w := t.next(); w {
	case "route":
		return c.parseRoute(t, false)
	case "attribute", "attributes":
		return c.parseAttributes(t, false)
	case "":
		return fmt.Errorf("withdraw what? (accepted: %s)", errWithdraw)
	default:
		return unknown(w, errWithdraw)
	}
}

// parseFamily reads `AFI SAFI`: ipv4 or ipv6, unicast.
func parseFamily(t *tokens) (wire.Family, error) {
	afi, safi := t.next(), t.next()
	var f wire.Family
	switch afi {
	case "ipv4":
		f = wire.IPv4Unicast
	case "ipv6":
		f = wire.IPv6Unicast
	default:
		return f, fmt.Errorf("address family %q: accepted: ipv4 unicast, ipv6 unicast", afi+" "+safi)
	}
	if safi != "unicast" {
		return f, fmt.Errorf("address family %q: accepted: ipv4 unicast, ipv6 unicast", afi+" "+safi)
	}
	return f, nil
}

func (c *Command) parseShow(t *tokens) error {
	switch w := t.next(); w {
	case "neighbor", "neighbors":
		c.Kind = ShowNeighbor
		for t.more() {
			switch w := t.next(); w {
			case "summary":
				c.Summary = true
			case "extensive":
				c.Extensive = true
			default:
				a, err := netip.ParseAddr(w)
				if err != nil {
					return unknown(w, "summary, extensive, a neighbour's address")
				}
				c.Filter = a
			}
		}
		if c.Summary && c.Extensive {
			return errors.New("show neighbor: summary or extensive, not both")
		}
	case "adj-rib", "adj-rib-in", "adj-rib-out":
		c.Kind = ShowAdjRIB
		dir := strings.TrimPrefix(w, "adj-rib-")
		if w == "adj-rib" {
			dir = t.next()
		}
		switch dir {
		case "in":
			c.In = true
		case "out":
		default:
			return fmt.Errorf("show adj-rib %q: accepted: in, out", dir)
		}
		for t.more() {
			switch w := t.next(); w {
			case "extensive":
				c.Extensive = true
			case "inet":
				// ExaBGP's filter for IP routes: they are all there is.
			default:
				a, err := netip.ParseAddr(w)
				if err != nil {
					return unknown(w, "extensive, a neighbour's address")
				}
				c.Filter = a
			}
		}
	case "":
		return fmt.Errorf("show what? (accepted: %s)", errShow)
	default:
		return unknown(w, errShow)
	}
	return nil
}

// parseRoute reads `PREFIX [ATTRIBUTE...]` after `announce|withdraw
// route`.
func (c *Command) parseRoute(t *tokens, announce bool) error {
	pfx, err := parsePrefix(t.next())
	if err != nil {
		return err
	}
	var a routeAttrs
	for t.more() {
		if err := a.parse(t, pfx.Addr().Is4()); err != nil {
			return fmt.Errorf("route %v: %w", pfx, err)
		}
	}
	o, err := a.origination(pfx, announce)
	if err != nil {
		return fmt.Errorf("route %v: %w", pfx, err)
	}
	c.Routes = []speaker.Origination{o}
	return nil
}

// parseAttributes reads `[ATTRIBUTE...] nlri PREFIX...` after
// `announce|withdraw attributes`.
func (c *Command) parseAttributes(t *tokens, announce bool) error {
	// The family of the next hop is that of the prefixes, which come
	// last.
	v4 := true
	if n := len(t.words); n > 0 {
		if p, err := parsePrefix(t.words[n-1]); err == nil {
			v4 = p.Addr().Is4()
		}
	}
	var a routeAttrs
	for {
		if t.peek() == "nlri" {
			t.next()
			break
		}
		if !t.more() {
			return errors.New("attributes: the prefixes must follow the word nlri")
		}
		if err := a.parse(t, v4); err != nil {
			return fmt.Errorf("attributes: %w", err)
		}
	}
	if !t.more() {
		return errors.New("attributes: no prefix after nlri")
	}
	for t.more() {
		pfx, err := parsePrefix(t.next())
		if err != nil {
			return err
		}
		if pfx.Addr().Is4() != v4 {
			return fmt.Errorf("attributes: nlri %v: all the prefixes must be of one family", pfx)
		}
		o, err := a.origination(pfx, announce)
		if err != nil {
			return fmt.Errorf("attributes: nlri %v: %w", pfx, err)
		}
		c.Routes = append(c.Routes, o)
	}
	return nil
}

// parsePrefix reads ADDR/LEN, or ADDR alone for a host route, as ExaBGP.
func parsePrefix(w string) (netip.Prefix, error) {
	if w == "" {
		return netip.Prefix{}, errors.New("a prefix is missing")
	}
	if !strings.Contains(w, "/") {
		a, err := netip.ParseAddr(w)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("prefix %q: %w", w, err)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(w)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("prefix %q: %w", w, err)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("prefix %v: invalid network for its length (%v)", p, p.Masked())
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("prefix %v: no zone", p)
	}
	return p, nil
}

// routeAttrs are the attributes of a route statement as they are read.
type routeAttrs struct {
	o       speaker.Origination
	nh      bool // next-hop given
	seen    map[string]bool
	nhValue netip.Addr
}

// parse reads one attribute and its value. v4 is the family of the
// route's prefix, which its next hop must have.
func (a *routeAttrs) parse(t *tokens, v4 bool) error {
	w := t.next()
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	if a.seen[w] {
		return fmt.Errorf("%s given twice", w)
	}
	a.seen[w] = true
	o := &a.o
	switch w {
	case "next-hop":
		v := t.next()
		a.nh = true
		if strings.EqualFold(v, "self") {
			return nil
		}
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return fmt.Errorf("next-hop %q: self or an address", v)
		}
		if ip.Is4() != v4 {
			return fmt.Errorf("next-hop %v: not of the prefix's family", ip)
		}
		a.nhValue = ip
	case "origin":
		switch v := strings.ToLower(t.next()); v {
		case "igp":
			o.Origin = rib.OriginIGP
		case "egp":
			o.Origin = rib.OriginEGP
		case "incomplete":
			o.Origin = rib.OriginIncomplete
		default:
			return fmt.Errorf("origin %q: accepted: igp, egp, incomplete", v)
		}
	case "as-path":
		return a.parseASPath(t)
	case "med":
		n, err := parseUint32(t.next())
		if err != nil {
			return fmt.Errorf("med: %w", err)
		}
		o.MED, o.HasMED = n, true
	case "local-preference":
		n, err := parseUint32(t.next())
		if err != nil {
			return fmt.Errorf("local-preference: %w", err)
		}
		o.LocalPref, o.HasLocalPref = n, true
	case "community":
		return list(t, "community", func(v string) error {
			c, err := parseCommunity(v)
			if err == nil && !slices.Contains(o.Communities, c) {
				o.Communities = append(o.Communities, c)
			}
			return err
		})
	case "large-community":
		return list(t, "large-community", func(v string) error {
			c, err := parseLargeCommunity(v)
			if err == nil && !slices.Contains(o.LargeCommunities, c) {
				o.LargeCommunities = append(o.LargeCommunities, c)
			}
			return err
		})
	case "extended-community":
		return list(t, "extended-community", func(v string) error {
			c, err := parseExtendedCommunity(v)
			if err == nil {
				o.ExtCommunities = append(o.ExtCommunities, c)
			}
			return err
		})
	case "atomic-aggregate":
		o.AtomicAggregate = true
	case "aggregator":
		return a.parseAggregator(t)
	case "":
		return errors.New("an attribute is missing")
	default:
		return unknown(w, errAttributes)
	}
	return nil
}

// origination is the route to pfx with the attributes read.
func (a *routeAttrs) origination(pfx netip.Prefix, announce bool) (speaker.Origination, error) {
	o := a.o
	o.Prefix = pfx
	if a.nhValue.IsValid() && a.nhValue.Is4() != pfx.Addr().Is4() {
		return o, fmt.Errorf("next-hop %v: not of the prefix's family", a.nhValue)
	}
	o.NextHop = a.nhValue
	if announce && !a.nh {
		// ExaBGP logs such a route as invalid and drops it.
		return o, errors.New("next-hop is missing (next-hop self or an address)")
	}
	return o, nil
}

// list reads one value or `[ value... ]`.
func list(t *tokens, what string, add func(string) error) error {
	v := t.next()
	if v != "[" {
		if v == "" || v == "]" {
			return fmt.Errorf("%s: a value is missing", what)
		}
		return add(v)
	}
	for {
		v := t.next()
		switch v {
		case "]":
			return nil
		case "":
			return fmt.Errorf("%s: ] is missing", what)
		case ",":
			continue
		}
		if err := add(v); err != nil {
			return err
		}
	}
}

// parseASPath reads `as-path ASN` or `as-path [ ASN... ]`, where a group
// in ( ) or [ ] inside is an AS_SET, as ExaBGP reads it.
func (a *routeAttrs) parseASPath(t *tokens) error {
	o := &a.o
	v := t.next()
	if v != "[" {
		n, err := parseASN(v)
		if err != nil {
			return fmt.Errorf("as-path: %w", err)
		}
		o.ASPath = append(o.ASPath, n)
		return nil
	}
	for {
		switch v := t.next(); v {
		case "]":
			return nil
		case "":
			return errors.New("as-path: ] is missing")
		case ",":
		case "(", "[":
			for {
				w := t.next()
				if w == ")" || w == "]" {
					break
				}
				if w == "" {
					return errors.New("as-path: the AS set is not closed")
				}
				if w == "," {
					continue
				}
				n, err := parseASN(w)
				if err != nil {
					return fmt.Errorf("as-path: %w", err)
				}
				o.ASSet = append(o.ASSet, n)
			}
		default:
			n, err := parseASN(v)
			if err != nil {
				return fmt.Errorf("as-path: %w", err)
			}
			if len(o.ASSet) > 0 {
				return errors.New("as-path: the AS set must come last")
			}
			o.ASPath = append(o.ASPath, n)
		}
	}
}

// parseAggregator reads `( AS:ADDR )` or `AS:ADDR`.
func (a *routeAttrs) parseAggregator(t *tokens) error {
	v := t.next()
	paren := v == "("
	if paren {
		v = t.next()
	}
	as, addr, ok := strings.Cut(v, ":")
	n, err := parseASN(as)
	ip, err2 := netip.ParseAddr(addr)
	if !ok || err != nil || err2 != nil || !ip.Is4() {
		return fmt.Errorf("aggregator %q: accepted: ( AS:IPv4 )", v)
	}
	if paren && t.next() != ")" {
		return errors.New("aggregator: ) is missing")
	}
	a.o.AggregatorAS, a.o.AggregatorAddr = n, ip
	return nil
}

func parseUint32(w string) (uint32, error) {
	n, err := strconv.ParseUint(w, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number from 0 to 4294967295", w)
	}
	return uint32(n), nil
}

// wellKnown are the community names ExaBGP 4.2 takes.
var wellKnown = map[string]uint32{
	"no-export": uint32(wire.CommunityNoExport), "no-advertise": uint32(wire.CommunityNoAdvertise),
	"no-export-subconfed": uint32(wire.CommunityNoExportSubconfed), "no-peer": uint32(wire.CommunityNoPeer),
	"nopeer": uint32(wire.CommunityNoPeer), "blackhole": uint32(wire.CommunityBlackhole),
}

// parseCommunity reads ASN:VALUE, a number, 0xHEX or a well-known name.
func parseCommunity(v string) (uint32, error) {
	if hi, lo, ok := strings.Cut(v, ":"); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("community %q: each half is a number from 0 to 65535", v)
		}
		return uint32(h<<16 | l), nil
	}
	if c, ok := wellKnown[strings.ToLower(v)]; ok {
		return c, nil
	}
	n, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("community %q: accepted: ASN:VALUE, a number, no-export, no-advertise, no-export-subconfed, no-peer, blackhole", v)
	}
	return uint32(n), nil
}

// parseLargeCommunity reads GLOBAL:LOCAL1:LOCAL2.
func parseLargeCommunity(v string) ([3]uint32, error) {
	parts := strings.Split(v, ":")
	var out [3]uint32
	if len(parts) != 3 {
		return out, fmt.Errorf("large-community %q: accepted: GLOBAL:LOCAL1:LOCAL2", v)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return out, fmt.Errorf("large-community %q: each part is a number from 0 to 4294967295", v)
		}
		out[i] = uint32(n)
	}
	return out, nil
}

// parseExtendedCommunity reads ExaBGP's forms: target:ASN:N,
// target:IPv4:N, target:ASNL:N, origin:..., the same with target4 and
// origin4, redirect:ASN:N, or 0x and 16 hex digits.
func parseExtendedCommunity(v string) (wire.ExtendedCommunity, error) {
	var c wire.ExtendedCommunity
	bad := fmt.Errorf("extended-community %q: accepted: target:ASN:N, target:IPv4:N, origin:ASN:N, origin:IPv4:N, redirect:ASN:N, or 0x and 16 hex digits", v)
	if h, ok := strings.CutPrefix(strings.ToLower(v), "0x"); ok {
		n, err := strconv.ParseUint(h, 16, 64)
		if err != nil || len(h) != 16 {
			return c, bad
		}
		for i := range 8 {
			c[i] = byte(n >> (56 - 8*i))
		}
		return c, nil
	}
	parts := strings.Split(v, ":")
	kind := "target"
	if len(parts) == 3 {
		kind, parts = strings.ToLower(parts[0]), parts[1:]
	}
	if len(parts) != 2 {
		return c, bad
	}
	var sub byte
	switch kind {
	case "target", "target4":
		sub = 0x02
	case "origin", "origin4":
		sub = 0x03
	case "redirect":
		sub = 0x08
	default:
		return c, bad
	}
	ga, la := parts[0], parts[1]
	c[1] = sub
	if ip, err := netip.ParseAddr(ga); err == nil && kind != "redirect" {
		n, err := strconv.ParseUint(la, 10, 16)
		if err != nil || !ip.Is4() {
			return c, bad
		}
		c[0] = 0x01
		copy(c[2:6], ip.AsSlice())
		c[6], c[7] = byte(n>>8), byte(n)
		return c, nil
	}
	long := strings.HasSuffix(strings.ToUpper(ga), "L")
	as, err := strconv.ParseUint(strings.TrimRight(ga, "lL"), 10, 32)
	if err != nil {
		return c, bad
	}
	if kind == "redirect" {
		// RFC 5575's traffic action: type 0x80, a 2-octet AS and 4 octets.
		n, err := strconv.ParseUint(la, 10, 32)
		if err != nil || as > 0xffff {
			return c, bad
		}
		c[0] = 0x80
		c[2], c[3] = byte(as>>8), byte(as)
		c[4], c[5], c[6], c[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return c, nil
	}
	if long || as > 0xffff || strings.HasSuffix(kind, "4") {
		n, err := strconv.ParseUint(strings.TrimRight(la, "lL"), 10, 16)
		if err != nil {
			return c, bad
		}
		c[0] = 0x02
		c[2], c[3], c[4], c[5] = byte(as>>24), byte(as>>16), byte(as>>8), byte(as)
		c[6], c[7] = byte(n>>8), byte(n)
		return c, nil
	}
	n, err := strconv.ParseUint(strings.TrimRight(la, "lL"), 10, 32)
	if err != nil {
		return c, bad
	}
	c[2], c[3] = byte(as>>8), byte(as)
	c[4], c[5], c[6], c[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return c, nil
}
