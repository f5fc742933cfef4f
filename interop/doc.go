// Package interop holds the lab's interoperability tests and benchmarks
// against real BGP daemons from Debian's packages: FRR (bgpd and zebra),
// BIRD 2, GoBGP (gobgpd) and ExaBGP. Each test builds a two-router lab with
// netemu — our embedded speaker in one namespace, an `external: true`
// router in the other — starts the real daemon in the external router's
// namespace, configured from the same topology model, and checks through
// the daemon's own tools and through the speaker's snapshots that sessions
// come up over IPv4 and IPv6, that routes and their attributes flow both
// ways, that withdrawals are seen, and that a shutdown on either side is
// reported with the right NOTIFICATION.
//
// The package has no API: everything is in its tests. See README.md.
package interop
