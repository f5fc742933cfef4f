#!/usr/bin/env bash
# Installs what `make lab` (and, with --test, `make test`) needs and is
# missing: Debian packages through apt, Go modules through the module proxy.
# Needs root; says so clearly when it is not.
set -euo pipefail

want=(iproute2 iputils-ping traceroute tcpdump)
goal=lab
if [[ "${1:-}" == "--test" ]]; then
	goal=test
	# The interoperability peers, and tshark for the codec's cross-check.
	want+=(frr bird2 gobgpd exabgp tshark)
	# tmux drives the shell on a terminal; headless Chromium the web page.
	want+=(tmux chromium fonts-dejavu-core)
	# go test -race needs cgo, so a C compiler and the C library's headers.
	if ! command -v gcc >/dev/null 2>&1; then
		want+=(gcc libc6-dev)
	fi
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "lab needs root: it creates network namespaces, veths and kernel routes (try: sudo make $goal)" >&2
	exit 1
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	echo "*** installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
	echo "lab is written in Go and go is not on PATH (install Go 1.26 or add /usr/local/go/bin to PATH)" >&2
	exit 1
fi
go mod download
