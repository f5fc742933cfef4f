// Package bench holds the lab's end-to-end benchmarks: they run the real
// `lab` binary on generated topologies and measure what a user waits for.
//
// BenchmarkConvergeBA50, BenchmarkConvergeBA200 and BenchmarkConvergeBA500
// generate a Barabási–Albert topology (one router and one IPv4 and one IPv6
// prefix per AS, two links per new AS), start it with `lab up -d` under a
// unique name and a private LAB_RUN_DIR, and poll every router's kernel
// table over netlink, inside its namespace, until every router has a
// route of protocol 200 to every other router's prefixes. They report:
//
//	up-s/op         `lab up -d` returning (data plane built, speakers started)
//	converge-s/op   from starting `lab up` to the last router's full table
//	peak-MB/op      the daemon's peak resident set (VmHWM) at convergence
//	daemon-cpu-s/op the daemon's user+system CPU time at convergence
//	poll-cpu-s/op   the benchmark's own CPU time while polling (what the
//	                measurement costs the machine)
//	down-s/op       `lab down` until it returns (everything removed)
//	destroy-s/op    then until the kernel has destroyed the namespaces
//	                (it does so in the background; the next iteration
//	                waits for it, so as not to compete with it)
//
// BenchmarkConvergeTransit50x5FullMesh, ...RR1 and ...RR2 (transit_test.go)
// measure the same on 50 ASes of 5 routers each (iBGP between loopbacks:
// full mesh, one or two route reflectors per AS).
//
// Nothing is left behind, even when an iteration fails: the daemon is
// stopped with `lab down`, killed if that fails, and `lab clean` removes
// what remains, all inside the benchmark's own run directory.
//
// Run (as root): `make bench`, or
//
//	go test -run '^$' -bench ConvergeBA200 ./bench/
//
// The binary is built once per run from ./cmd/lab; LAB_BIN names an
// existing binary instead. LAB_BENCH_TIMEOUT (a duration, default 3m)
// bounds the wait for convergence. LAB_BENCH_PROFILE=dir has the daemon write CPU
// and heap profiles covering `lab up` to convergence into dir (see
// lab/internal/profile; the daemon must call profile.Start).
package bench
