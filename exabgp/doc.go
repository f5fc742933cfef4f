// Package exabgp is ExaBGP 4's process API on the lab's embedded
// routers: programs written for ExaBGP run on a router, announce and
// withdraw its routes with ExaBGP's text commands, and read its sessions'
// messages in ExaBGP's JSON (or text) encoding.
//
// Three parts:
//
//   - ParseCommand reads one line of ExaBGP 4's text API into a typed
//     Command (the lab's shell parses its own announce and withdraw lines
//     with it), and Command.Run does it on a speaker.Speaker.
//   - Encoder renders messages and state changes as ExaBGP 4.2 does,
//     laid out character for character as Debian's ExaBGP 4.2.21 lays
//     them out (testdata holds what it wrote; the tests compare).
//   - Runner starts a router's programs in its namespace, feeds them what
//     they asked to receive, runs their commands and answers each `done`
//     or `error`, logs their standard error and exit in the speaker's log,
//     and stops them with the router.
//
// Where this differs from ExaBGP 4.2, on purpose:
//
//   - A program that does not read its input does not stop the router:
//     ExaBGP writes to its programs synchronously and stops everything
//     until they read; here each program has a queue (Config.QueueLen
//     messages), and what does not fit is dropped and the loss logged.
//   - A command that does nothing because what it names does not exist
//     (no neighbour matches, no session is up for an End-of-RIB, an IPv4
//     route without a next hop) is answered `error`; ExaBGP answers some
//     of these `done` after logging them.
//   - `announce eor` and `announce route-refresh` go to the sessions that
//     negotiated the family; ExaBGP sends an IPv4 End-of-RIB on an IPv6
//     session too.
//   - `teardown` without a neighbour tears every session down (ExaBGP does
//     nothing), and without a subcode sends Administrative Shutdown
//     (ExaBGP answers error); the session starts again at once.
//   - `shutdown` takes every session administratively down: the lab, not
//     the program, decides when a router stops.
//   - A ROUTE-REFRESH reads `"afi": "ipv4"` where ExaBGP 4.2 writes
//     `"afi": ""ipv4""` (invalid JSON); a down reason is valid JSON where
//     ExaBGP copies a shutdown communication's raw bytes into it.
//   - `receive` implies `parsed` (ExaBGP sends nothing for `update`
//     without it); `packets` and `consolidate` are not offered, nor are
//     sent messages (ExaBGP's `send { }`).
//   - "host" is the router's name, "pid" and "ppid" the lab daemon's.
package exabgp
