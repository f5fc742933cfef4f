package grammar

// Shell is the lab shell's grammar: every command of the client and of
// the daemon.
var Shell = MustNew(commands, groups)

// Reserved is Shell's reserved words: what a node may not be called.
func Reserved() []string { return Shell.Reserved() }

// jsonTail is the `json` every router command may end with, for its
// machine-readable form (as `lab cmd --json`).
var jsonTail = Opt(Flag("json")).Hide()

// router is a command of a router's embedded speaker: ROUTER, its words,
// and an optional json.
func router(elems ...Elem) []Elem {
	return append(append([]Elem{Arg("router", Router)}, elems...), jsonTail)
}

// bgpHead is how FRR users begin asking about BGP, with their
// abbreviations (`sh ip bgp sum`): `show [ip|ipv6] bgp [ipv4|ipv6]
// [unicast]`. The family given last wins; none: both families for a
// summary, IPv6 for a table.
var bgpHead = Seq(
	K("show"),
	Opt(Choice("afi", "ip", "ipv6")),
	Abbr("bgp", 1),
	Opt(Choice("family", "ipv4", "ipv6")),
	Opt(Abbr("unicast", 3)),
)

// commands is the table, in help's order. Entries marked Client run in
// the shell client; the others in the lab daemon, which registers an
// implementation under each Name.
var commands = []Entry{
	{Name: "help", Client: true, Syntax: []Elem{K("help").Alias("?"), Opt(Rest("topic", Topic).As("COMMAND"))},
		Help: "list the commands, or explain one"},
	{Name: "nodes", Syntax: []Elem{K("nodes")}, Help: "list the nodes"},
	{Name: "net", Syntax: []Elem{K("net")}, Help: "list every node's interfaces and what they connect to"},
	{Name: "links", Syntax: []Elem{K("links")}, Help: "list the links and the state of both ends"},
	{Name: "intfs", Syntax: []Elem{K("intfs")}, Help: "list every node's interfaces"},
	{Name: "dump", Syntax: []Elem{K("dump")}, Help: "show every node with its addresses and namespace"},
	{Name: "pingall", Syntax: []Elem{K("pingall"), Opt(Arg("timeout", Seconds))},
		Help: "ping between every pair of hosts over each address family of the lab (TIMEOUT in seconds, default 1)"},
	{Name: "ping4all", Syntax: []Elem{K("ping4all"), Opt(Arg("timeout", Seconds))}, Help: "ping between every pair of hosts over IPv4"},
	{Name: "ping6all", Syntax: []Elem{K("ping6all"), Opt(Arg("timeout", Seconds))}, Help: "ping between every pair of hosts over IPv6"},
	{Name: "pingpair", Syntax: []Elem{K("pingpair")}, Help: "ping between the first two hosts over each address family of the lab"},
	{Name: "ping4pair", Syntax: []Elem{K("ping4pair")}, Help: "ping between the first two hosts over IPv4"},
	{Name: "ping6pair", Syntax: []Elem{K("ping6pair")}, Help: "ping between the first two hosts over IPv6"},
	{Name: "link", Syntax: []Elem{K("link"), Arg("node1", Node), Arg("node2", Peer).Near("node1"), Choice("op", "down", "up", "blackhole", "restore")},
		Help: "take every link between two nodes down or up on both ends (as Mininet), or silently drop its packets while the carrier stays up (blackhole) until restore"},
	{Name: "link iface", Syntax: []Elem{K("link"), Arg("iface", Iface), Choice("op", "up", "down")},
		Help: "take one interface down or up, as `ip link set dev as2rb-eth0 down` on its node"},
	{Name: "wait", Syntax: []Elem{K("wait"), Opt(Arg("timeout", Seconds))},
		Help: "wait until every BGP session is established and every router has processed its peers' tables (TIMEOUT in seconds, default 60)"},
	{Name: "node", Client: true, Syntax: []Elem{Arg("node", Node), Rest("command", Command).As("COMMAND...")},
		Help: "run COMMAND in the node's namespace; node names in it become addresses (h1 traceroute6 h4)"},

	{Name: "show bgp summary", Group: "show", Syntax: router(bgpHead, Abbr("summary", 3)),
		Help: "every family's sessions, as the seed's `show bgp summary` (one family: `show bgp ipv6 summary`, `show ip bgp summary`)"},
	{Name: "show bgp", Group: "show", Syntax: router(bgpHead),
		Help: "the BGP table: `show bgp ipv6` or `show ipv6 bgp`; IPv4: `show ip bgp` or `show bgp ipv4`"},
	{Name: "show bgp prefix", Group: "show", Syntax: router(bgpHead, Arg("prefix", PrefixOrAddr)),
		Help: "one prefix, every path, and why the best one won (`show bgp ipv6 PREFIX`)"},
	{Name: "show bgp neighbors", Group: "show", Syntax: router(bgpHead, Abbr("neighbors", 2),
		Opt(Arg("addr", Addr), Opt(Choice("view", "received-routes", "advertised-routes", "routes")))),
		Help: "session details: capabilities, timers, counters, last reset (`show bgp neighbors [ADDR]`); with a view, the neighbour's routes as received (before import policy), as advertised to it, or as accepted (`show bgp ipv4 neighbors ADDR received-routes|advertised-routes|routes`)"},
	{Name: "show bgp messages", Group: "show", Syntax: router(bgpHead, Abbr("messages", 3), Opt(Arg("addr", Addr)), Opt(Flag("follow"))),
		Help: "the messages sent and received, decoded as tcpdump shows them; follow: keep printing new ones until Ctrl-C"},
	{Name: "show log", Group: "show", Syntax: router(K("show"), K("log")),
		Help: "the router's BGP log (session changes, NOTIFICATIONs)"},
	{Name: "show routing policy", Group: "show", Syntax: router(K("show"), K("routing"), K("policy"), Opt(Arg("name", Word))),
		Help: "the router's routing policies (from the topology's policies and relations), entry by entry, with how many routes each entry decided"},
	{Name: "show ip route", Group: "show", Syntax: router(K("show"), Choice("afi", "ip", "ipv6"), K("route")),
		Help: "the kernel's routes, as FRR's `show ip route`: B BGP, G the lab's IGP underlay, C connected, K kernel"},

	{Name: "clear bgp", Syntax: router(K("clear"), Opt(Abbr("bgp", 1)), Alt(Arg("addr", Addr), Flag("*")), Opt(Flag("soft"))),
		Help: "reset BGP sessions (hard: Cease/Administrative Reset; soft: route refresh)"},
	// The ExaBGP forms take the rest of the line (json included: use
	// `lab cmd --json`).
	{Name: "announce", Syntax: []Elem{Arg("router", Router), K("announce"), Alt(
		Seq(Arg("prefix", Prefix), Options(
			Seq(K("med"), Arg("med", Uint32).As("N")),
			Seq(K("community"), List("community", Community)).Repeat(),
			Seq(K("large-community"), List("large-community", LargeCommunity)).Repeat(),
		), jsonTail),
		Seq(Choice("api", "route", "attributes", "eor", "route-refresh"), Opt(Rest("exabgp", Text))),
	)}, Help: "originate a route; or ExaBGP 4's words, as its programs write them: route PREFIX next-hop self as-path [ 2 2 2 ] med 10 ..."},
	{Name: "withdraw", Syntax: []Elem{Arg("router", Router), K("withdraw"), Alt(
		Seq(Arg("prefix", Prefix), jsonTail),
		Seq(Choice("api", "route", "attributes"), Rest("exabgp", Text)),
	)}, Help: "stop originating a route; or ExaBGP 4's words: route PREFIX, attributes ... nlri P1 P2"},
	{Name: "neighbor", Syntax: []Elem{Arg("router", Router), K("neighbor"), Arg("addr", Addr),
		Alt(Seq(Flag("shutdown"), Opt(K("message"), Rest("message", Text))), Flag("enable"))},
		Help: "shut a session down (Cease/Administrative Shutdown, with an RFC 8203 message the peer shows) or enable it again"},
	{Name: "graceful-shutdown", Syntax: router(K("graceful-shutdown"), Choice("state", "on", "off")),
		Help: "drain the router (RFC 8326): its eBGP advertisements carry GRACEFUL_SHUTDOWN and routes from eBGP peers get local-pref 0; off ends it"},
	{Name: "apply", Syntax: []Elem{K("apply"), Arg("file", Word)},
		Help: "apply a changed topology file to the running lab: policies, settings, relations, prefixes and timers (sessions reset only where they must); nodes and links may not change"},

	{Name: "check session", Group: "check", Syntax: checkSyntax("session", checkTarget("neighbor"),
		Options(Choice("state", "established", "down", "idle", "connect", "active", "opensent", "openconfirm"), Choice("family", "ipv4", "ipv6"), checkWait)),
		Help: "the node's BGP session(s) with NEIGHBOR are established (or in the state given): `check as1ra session as2rb`"},
	{Name: "check prefix", Group: "check", Syntax: checkSyntax("prefix", Arg("prefix", Prefix), Options(
		Choice("state", "present", "missing"),
		Flag("best"),
		Seq(K("nexthop"), checkTarget("nexthop")),
		Seq(K("local-pref"), Arg("local-pref", Uint32).As("N")),
		Seq(K("med"), Arg("med", Uint32).As("N")),
		Seq(K("aspath").Bind("aspath-given"), List("aspath", ASN)),
		Seq(K("community"), List("community", Community)),
		Seq(K("large-community"), List("large-community", LargeCommunity)),
		Seq(K("origin"), Choice("origin", "igp", "egp", "incomplete")),
		Seq(K("peer"), checkTarget("peer")),
		checkWait,
	), Opt(K("aspath-regex"), Rest("aspath-regex", Text).As("REGEX"))),
		Help: "a path to PREFIX in the router's BGP table has every attribute given (missing: none has): `check as1ra prefix 2001:1234:4::/64 best nexthop as2rb aspath 2 4`; aspath-regex REGEX (FRR's syntax, `_` a separator) comes last"},
	{Name: "check route", Group: "check", Syntax: checkSyntax("route", Arg("prefix", Prefix), Options(
		Choice("state", "present", "missing"),
		Seq(K("via"), Alt(Arg("via", Node).As("NODE"), Arg("via", Addr).As("ADDR"), Arg("via-iface", Iface).As("IFACE"))),
		checkWait)),
		Help: "the node's kernel has a route to PREFIX (through VIA) (missing: has none): `check h1 route 0.0.0.0/0`"},
	{Name: "check ping", Group: "check", Syntax: checkSyntax("ping", checkTarget("to"),
		Options(Choice("family", "ipv4", "ipv6"), Choice("expect", "success", "fail"), checkWait)),
		Help: "the node reaches TO over each family both have, or the one given (fail: does not): `check h1 ping h4 ipv6`"},
	{Name: "check path", Group: "check", Syntax: checkSyntax("path", Arg("to", Node),
		Options(Choice("family", "ipv4", "ipv6"), Seq(K("via"), List("via", Node)), checkWait)),
		Help: "a traceroute from the node to TO goes through the VIA nodes, in order: `check h1 path h4 via as1ra as3rc`"},
	{Name: "check notification", Group: "check", Syntax: checkSyntax("notification", checkTarget("neighbor"),
		Options(Seq(Choice("dir", "sent", "received"), Arg("code", Word).As("CODE[/SUBCODE]")), checkWait)),
		Help: "the node's session with NEIGHBOR last went down with a NOTIFICATION, sent or received, of that code: `check as1ra notification as2rb sent 4/0`"},
	{Name: "check log", Group: "check", Syntax: checkSyntax("log", Opt(checkWait), Rest("regex", Text).As("REGEX")),
		Help: "a line of the router's BGP log matches REGEX: `check as1ra log Hold Timer Expired`"},

	{Name: "sh", Client: true, Syntax: []Elem{K("sh"), Rest("command", Command).As("COMMAND")}, Help: "run COMMAND in the root namespace"},
	{Name: "source", Client: true, Syntax: []Elem{K("source"), Arg("file", Word)}, Help: "run the commands in FILE"},
	{Name: "exit", Client: true, Syntax: []Elem{K("exit").Alias("quit", "EOF")}, Help: "leave the shell (`lab run` then tears the lab down)"},
}

// checkSyntax is `check NODE KIND ...`: one of the lab's typed checks
// (the checks of a topology's `validate:` section), on one line.
func checkSyntax(kind string, elems ...Elem) []Elem {
	return append([]Elem{K("check"), Arg("node", Node), K(kind)}, elems...)
}

// checkTarget is a node (Tab offers the node's neighbours) or an address.
func checkTarget(name string) Elem {
	return Alt(Arg(name, Peer).Near("node").As("NODE"), Arg(name, Addr).As("ADDR"))
}

// checkWait retries a check until it passes, for SECONDS at most.
var checkWait = Seq(K("wait"), Arg("wait", Seconds).As("SECONDS"))

var groups = []Group{{
	Name:   "show",
	Help:   "the router's BGP state, as FRR shows it: `as1ra show bgp summary`, `show bgp ipv6`, `show bgp neighbors`, `show log` (see `help show`)",
	Intro:  "ROUTER show commands (FRR's words and abbreviations, `sh ip bgp sum`; the text is laid out as the seed's Quagga prints it):",
	Footer: "Add json at the end (or use lab cmd --json) for the machine-readable form.",
}, {
	Name:   "check",
	Help:   "check the lab as a test does: `check as1ra session as2rb`, `check as1ra prefix PREFIX best nexthop as2rb` (see `help check`); a failed check fails a script",
	Intro:  "check NODE commands: the typed checks of a topology's validate: section, on one line (wait SECONDS retries until the check passes):",
	Footer: "A failed check prints what it saw instead, and makes a piped script (and lab cmd) exit 1.",
}}
