#!/usr/bin/env python3
"""Reports the routes and session states the router receives, as the
seed's receive.py means to, on standard error (the router's log, `show
log`):

    [RECEIVED] Route 10.0.0.0/8 via 192.168.1.1
    [WITHDRAWN] Route 10.0.0.0/8
    [STATE] BGP session state: up

It reads ExaBGP 4's JSON messages (a process with `encoder: json` and
`receive: [parsed, updates, neighbor-changes]`). The seed's script looks
for the routes in message["neighbor"]["message"]["announce"], where
ExaBGP 4 never puts them (nor its next hop in the NLRI's object): ExaBGP
4.2 writes neighbor.message.update.announce["ipv4 unicast"][NEXT_HOP] =
[{"nlri": PREFIX}], which this reads, for every family.
"""

import json
import sys


def say(line):
    print(line, file=sys.stderr, flush=True)


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue  # "done" or "error": the router's answer to a command
        try:
            neighbor = message.get("neighbor", {})
            if message.get("type") == "update":
                update = neighbor.get("message", {}).get("update", {})
                for family in update.get("announce", {}).values():
                    seen = set()
                    # An IPv6 route comes with its global next hop first,
                    # then its link-local one: the first is reported.
                    for next_hop, nlris in family.items():
                        for nlri in nlris:
                            if nlri["nlri"] not in seen:
                                seen.add(nlri["nlri"])
                                say(f"[RECEIVED] Route {nlri['nlri']} via {next_hop}")
                for nlris in update.get("withdraw", {}).values():
                    for nlri in nlris:
                        say(f"[WITHDRAWN] Route {nlri['nlri']}")
            elif message.get("type") == "state":
                say(f"[STATE] BGP session state: {neighbor['state']}")
        except (KeyError, TypeError, AttributeError) as e:
            say(f"[ERROR] {e}")


if __name__ == "__main__":
    main()
