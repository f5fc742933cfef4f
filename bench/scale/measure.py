#!/usr/bin/env python3
"""Scale measurements of issue 15 on the anchors' graph (docs/performance.md, "Scale").

usage: measure.py LAB_BIN N [--waitloop SECONDS]   (as root; one JSON line)

The graph is reflab's Barabasi-Albert graph (ANCHORS, default /work/shared/anchors/reflab.py:
ba_topo(N, seed 1), m=2), IPv6 only, one /64 per AS, keepalive 3 s, hold 9 s: the graph
sidebyside.py runs BIRD and FRR on. It times `lab up -d` and then `lab cmd NAME wait 600`
(started as soon as up returns; wait returns once every session is Established, has
exchanged End-of-RIB, every UPDATE sent has been received and every router's FIB writes are
done), and reads:
  up_s, wait_s        from starting `lab up` to its return, and to wait's return
  up_lines            the lab's own figures (data plane, speakers started, lab up)
  hwm_mb, cpu_s       the daemon's VmHWM and user+system CPU when wait returned
  updates_sent        UPDATEs sent by every router (show bgp neighbors json, messageStats)
  paths               paths held, every router's ribCount (show bgp ipv6 summary json)
  conn_dropped        connections dropped over the run (every session reset counts;
                      a hold timer expiry is one), and hold_expired, the log's count
--waitloop S: then runs `lab cmd NAME wait 600` in a loop for S seconds and reports the
daemon's RSS before and after (and how many waits ran).
"""
import json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.environ.get("ANCHORS", "/work/shared/anchors/reflab.py")))
import reflab  # noqa: E402


def proc_status(pid):
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k, v = line.split(":", 1)
        d[k] = v.strip()
    return d


def mb(v):
    return round(int(v.split()[0]) / 1024, 1)


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return round((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"), 2)


def main():
    lab, n = sys.argv[1], int(sys.argv[2])
    loop = float(sys.argv[sys.argv.index("--waitloop") + 1]) if "--waitloop" in sys.argv else 0
    name = f"scale{n}"
    routers, links = reflab.ba_topo(n, 1)
    y = [f"name: {name}", "bgp: {keepalive: 3, hold: 9}", "addressing: {families: [ipv6]}", "routers:"]
    y += [f"  {r}: {{as: {asn}, prefixes: [2001:db8:{asn:x}::/64]}}" for r, asn in routers.items()]
    y += ["links:"] + [f"  - [{a}, {b}]" for a, b in links]
    f = f"/tmp/{name}.yaml"
    open(f, "w").write("\n".join(y) + "\n")
    subprocess.run([lab, "down", name], capture_output=True)
    t0 = time.time()
    r = subprocess.run([lab, "up", "-d", f], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stdout + r.stderr)
    t1 = time.time()
    figures = {l.split("(")[0].strip("* ").strip(): l.rsplit("(", 1)[-1].split(")")[0]
               for l in r.stdout.splitlines()
               if "Data plane ready" in l or ("Started" in l and "speakers" in l) or " is up (" in l}
    pid = json.load(open(f"/run/lab/{name}.json"))["pid"]
    w = subprocess.run([lab, "cmd", name, "wait 600"], capture_output=True, text=True)
    t2 = time.time()
    st = proc_status(pid)
    out = {"routers": n, "links": len(links), "up_s": round(t1 - t0, 2), "wait_s": round(t2 - t0, 2),
           "wait_ok": w.returncode == 0, "up_lines": figures, "hwm_mb": mb(st["VmHWM"]), "cpu_s": cpu_s(pid)}
    if w.returncode:
        out["wait_out"] = (w.stdout + w.stderr)[-2000:]
    if loop:
        before, t, k = mb(proc_status(pid)["VmRSS"]), time.time(), 0
        while time.time() - t < loop:
            subprocess.run([lab, "cmd", name, "wait 600"], capture_output=True)
            k += 1
        out["waitloop"] = {"runs": k, "rss_before_mb": before, "rss_after_mb": mb(proc_status(pid)["VmRSS"])}
    upd = paths = dropped = 0
    names = list(routers)
    for i in range(0, len(names), 100):
        lines = [f"{x} show bgp neighbors json" for x in names[i:i + 100]]
        lines += [f"{x} show bgp ipv6 summary json" for x in names[i:i + 100]]
        res = subprocess.run([lab, "cmd", "--json", name] + lines, capture_output=True, text=True)
        for line in res.stdout.splitlines():
            if not line.strip():
                continue
            v = json.loads(line)
            for x in (v if isinstance(v, list) else [v]):
                for y in x.values():
                    if not isinstance(y, dict):
                        continue
                    paths += y.get("ribCount", 0)
                    if "messageStats" in y:
                        upd += y["messageStats"]["updatesSent"]
                        dropped += y.get("connectionsDropped", 0)
    out.update(updates_sent=upd, paths=paths, conn_dropped=dropped,
               hold_expired=open(f"/run/lab/{name}.log").read().count("Hold Timer Expired"))
    subprocess.run([lab, "down", name], capture_output=True)
    print(json.dumps(out), flush=True)


main()
