// Package daemons runs FRR and BIRD for the routers of a lab whose
// topology says `kind: frr` or `kind: bird`: it writes each daemon's
// configuration from the topology, starts the daemons inside the
// router's namespace with their files (configuration, vty and control
// sockets, pid files, logs) in a directory of the lab's, asks them
// through their own tools (vtysh, birdc), and stops them.
//
// The configuration gives the daemon what lab/speakerconf gives the
// lab's speaker, so that a router behaves the same whichever runs it:
//
//   - a session per topology session: addresses (update-source), AS,
//     router ID, the timers (keepalive, hold, connect-retry), the TCP MD5
//     password, passive, shutdown, remote-as, allowas-in, max-prefix
//     (warning-only too), default-originate (FRR), route reflection and
//     next-hop-self (FRR: iBGP);
//   - the router's prefixes, with their MED and communities, and its
//     aggregates (FRR);
//   - compare-routerid; with it unset BIRD prefers the older path, as
//     the lab's speaker and FRR do;
//   - routing policy: a link end's local-pref, weight (FRR), MED and
//     prepending; its relation's Gao-Rexford policy (the local-pref of
//     the role, the tags <AS>:1000:<1|2|3>, the export rule, leak); its
//     named policies with their prefix, AS-path (FRR) and community
//     lists, origin and neighbour-AS matches, and every set clause. The
//     lab's speaker runs a chain of policies per direction; FRR takes
//     one route map per neighbour and direction, whose entries call the
//     chain's route maps one after the other (`call`, `on-match next`);
//     BIRD gets the chain written out in the session's filters.
//
// What a daemon cannot express is refused before anything starts, by
// Check, at the setting's place in the topology file: for BIRD, weight,
// AS-path lists, default-originate, shutdown messages, aggregates and
// iBGP; for FRR, a community match on a list that mixes communities and
// large communities, and a password with a space.
package daemons
