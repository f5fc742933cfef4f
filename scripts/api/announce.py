#!/usr/bin/env python3
"""Announces routes through the router's ExaBGP API, as the seed's
announce.py does: one `announce route PREFIX next-hop self` per route on
standard output, and `[API] Announced PREFIX` on standard error (the
router's log, `show log`).

Usage: announce.py [PREFIX...]; without prefixes, the seed's three routes.
It stays until the router stops: the router then closes its input, which
it reads meanwhile (the router's `done` answers to its commands).
"""

import sys

ROUTES = ["100.10.0.0/24", "100.20.0.0/24", "100.30.0.0/24"]


def main():
    routes = sys.argv[1:] or ROUTES
    for route in routes:
        sys.stdout.write(f"announce route {route} next-hop self\n")
        sys.stdout.flush()
        sys.stderr.write(f"[API] Announced {route}\n")
        sys.stderr.flush()
    for _ in sys.stdin:
        pass


if __name__ == "__main__":
    main()
