package topo

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file is the topology's side of ExaBGP's API (package exabgp):
// the programs a lab declares (`processes:`, as ExaBGP 4 declares them)
// and the routers that run them (a router's `api:`), decoded, checked and
// resolved.

// Process is a program of ExaBGP's API, declared once in `processes:` and
// run by every router whose `api:` lists it (one instance per router, in
// its namespace).
type Process struct {
	Name string
	// Run is the program and its arguments. A relative program path is
	// the topology file's directory's (Lab.File), as ExaBGP looks for it
	// beside its configuration.
	Run []string
	// Encoder is "json" (the default) or "text": how the program reads
	// the router's messages.
	Encoder string
	// Receive are ExaBGP's words for what the program reads: parsed,
	// update (or updates), neighbor-changes, notification, open,
	// keepalive, refresh.
	Receive []string
	// Ack: every command the program writes is answered done or error
	// (ExaBGP's exabgp.api.ack, on by default).
	Ack bool
	Pos Pos
}

// ReceiveWords are the words a process's `receive:` takes: ExaBGP 4's, and
// "updates", the seed's spelling of "update". (lab/exabgp's ParseReceive
// reads the same words; a test there keeps the two in step.)
var ReceiveWords = []string{"parsed", "update", "updates", "neighbor-changes", "notification", "open", "keepalive", "refresh"}

var (
	processFields = []string{"run", "encoder", "receive", "ack"}
	processNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// rawProcess is a process as decoded.
type rawProcess struct {
	p   Process
	bad bool
	// used is set when a router's api lists it.
	used bool
}

// decodeProcesses decodes the `processes:` section.
func (d *decoder) decodeProcesses(n *yaml.Node) []*rawProcess {
	pairs, _ := d.mapping(n, "processes")
	var out []*rawProcess
	for _, kv := range pairs {
		rp := &rawProcess{p: Process{Name: kv.key.Value, Pos: d.pos(kv.key), Encoder: "json", Ack: true}}
		out = append(out, rp)
		what := fmt.Sprintf("process %q", rp.p.Name)
		if !processNameRE.MatchString(rp.p.Name) {
			d.nodeErr(kv.key, ErrValue, "invalid process name %q: a letter or digit, then letters, digits, '.', '-' or '_'", rp.p.Name)
			rp.bad = true
		}
		f, ok := d.object(kv.val, what, processFields...)
		if !ok {
			rp.bad = true
			continue
		}
		q, ok := f["run"]
		if !ok {
			d.nodeErr(kv.key, ErrMissing, "%s has no run; expected the program and its arguments, like `run: [scripts/api/announce.py]`", what)
			rp.bad = true
		} else if rp.p.Run, ok = d.argv(q.val, "the run of "+what); !ok {
			rp.bad = true
		}
		if q, ok := f["encoder"]; ok {
			s, ok := d.scalar(q.val, "the encoder of "+what, "text or json")
			switch {
			case !ok:
				rp.bad = true
			case s == "text" || s == "json":
				rp.p.Encoder = s
			default:
				d.nodeErr(q.val, ErrValue, "unknown encoder %q for %s; expected text or json", s, what)
				rp.bad = true
			}
		}
		if q, ok := f["receive"]; ok {
			items, ok := d.list(q.val, "the receive of "+what)
			rp.bad = rp.bad || !ok
			for _, it := range items {
				s, ok := d.scalar(it, "the receive of "+what, "one of "+strings.Join(ReceiveWords, ", "))
				if !ok {
					rp.bad = true
					continue
				}
				if !slices.Contains(ReceiveWords, s) {
					msg := fmt.Sprintf("unknown word %q in the receive of %s; expected one of: %s", s, what, strings.Join(ReceiveWords, ", "))
					if g := suggest(s, ReceiveWords); g != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", g)
					}
					d.nodeErr(it, ErrValue, "%s", msg)
					rp.bad = true
					continue
				}
				if slices.Contains(rp.p.Receive, s) {
					d.nodeErr(it, ErrDuplicate, "%q is listed twice in the receive of %s", s, what)
					continue
				}
				rp.p.Receive = append(rp.p.Receive, s)
			}
		}
		if q, ok := f["ack"]; ok {
			v, ok := d.bool(q.val, "ack of "+what)
			rp.p.Ack = v
			rp.bad = rp.bad || !ok
		}
	}
	return out
}

// argv decodes a command line: a list of words, or a string split at its
// spaces (as ExaBGP splits `run ...;`).
func (d *decoder) argv(n *yaml.Node, what string) ([]string, bool) {
	if n = d.visit(n); n == nil {
		return nil, false
	}
	const expected = "a program and its arguments, like [scripts/api/announce.py] or [python3, receive.py]"
	var out []string
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		out = strings.Fields(n.Value)
	} else {
		items, ok := d.list(n, what)
		if !ok {
			return nil, false
		}
		for _, it := range items {
			s, ok := d.scalar(it, what, "a word of the command line")
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 || out[0] == "" {
		d.nodeErr(n, ErrValue, "expected %s for %s, got nothing", expected, what)
		return nil, false
	}
	return out, true
}

// decodeRouterAPI decodes a router's `api:` list of process names.
func (d *decoder) decodeRouterAPI(n *yaml.Node, what string) []rawName {
	items, _ := d.list(n, "the api of "+what)
	var out []rawName
	for _, it := range items {
		if s, ok := d.scalar(it, "the api of "+what, "a process name"); ok {
			out = append(out, rawName{s, d.pos(it)})
		}
	}
	return out
}

// resolveAPI checks the processes and the routers' `api:` lists: every
// name a router lists must be declared, once per router, on a router with
// a speaker; every declared process must be run by some router.
func (b *builder) resolveAPI() {
	byName := map[string]*rawProcess{}
	var names []string
	for _, rp := range b.raw.processes {
		if first, dup := byName[rp.p.Name]; dup {
			b.errorf(rp.p.Pos, ErrDuplicate, "process %q is declared twice (first at line %d)", rp.p.Name, first.p.Pos.Line)
			continue
		}
		byName[rp.p.Name] = rp
		names = append(names, rp.p.Name)
	}
	for _, rr := range b.rlist {
		seen := map[string]bool{}
		for _, ref := range rr.raw.api {
			what := fmt.Sprintf("router %q", rr.raw.name)
			rp := byName[ref.name]
			if rp == nil {
				msg := fmt.Sprintf("%s runs process %q, which `processes:` does not declare", what, ref.name)
				if len(names) == 0 {
					msg += "; declare it there, e.g. `processes: {" + ref.name + ": {run: [program]}}`"
				} else {
					msg += "; declared: " + strings.Join(names, ", ")
					if s := suggest(ref.name, names); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
				}
				b.errorf(ref.pos, ErrReference, "%s", msg)
				continue
			}
			rp.used = true
			if seen[ref.name] {
				b.errorf(ref.pos, ErrDuplicate, "%s lists process %q twice in its api", what, ref.name)
				continue
			}
			seen[ref.name] = true
			if rr.raw.external {
				b.errorf(ref.pos, ErrValue, "%s is external: it has no embedded speaker to run process %q (run your own daemon there)", what, ref.name)
				continue
			}
			rr.api = append(rr.api, rp)
		}
	}
	for _, rp := range b.raw.processes {
		if !rp.used && byName[rp.p.Name] == rp {
			b.errorf(rp.p.Pos, ErrReference, "process %q is run by no router; list it in a router's api, e.g. `api: [%s]`", rp.p.Name, rp.p.Name)
		}
	}
}

// assembleAPI puts the processes into the model: the lab's, in file
// order, and each router's.
func (b *builder) assembleAPI() {
	made := map[*rawProcess]*Process{}
	for _, rp := range b.raw.processes {
		if rp.used && !rp.bad && made[rp] == nil {
			p := rp.p
			made[rp] = &p
			b.lab.Processes = append(b.lab.Processes, &p)
		}
	}
	for _, rr := range b.rlist {
		for _, rp := range rr.api {
			rr.r.API = append(rr.r.API, made[rp])
		}
	}
}

// decodePrefixAPI decodes the attributes of an originated prefix that
// ExaBGP's static routes take beyond MED and communities: as-path,
// origin, local-pref and next-hop. It reports whether they were good.
func (d *decoder) decodePrefixAPI(f map[string]kv, o *Origination) bool {
	p := o.Prefix
	good := true
	if q, ok := f["as-path"]; ok {
		items, ok := d.list(q.val, "the as-path of "+p.String())
		good = good && ok
		for i, it := range items {
			if it.Kind == yaml.SequenceNode {
				// A trailing list is an AS_SET, as ExaBGP's ( ... ).
				if i != len(items)-1 {
					d.nodeErr(it, ErrValue, "an AS set in the as-path of %s must come last", p)
					good = false
					continue
				}
				set, ok := d.list(it, "the AS set of "+p.String())
				good = good && ok
				for _, s := range set {
					v, ok := d.uint(s, "an AS of the as-path of "+p.String(), 1, 1<<32-1)
					good = good && ok
					o.ASSet = append(o.ASSet, uint32(v))
				}
				continue
			}
			v, ok := d.uint(it, "an AS of the as-path of "+p.String(), 1, 1<<32-1)
			good = good && ok
			o.ASPath = append(o.ASPath, uint32(v))
		}
	}
	if q, ok := f["origin"]; ok {
		v, ok := d.origin(q.val, "the origin of "+p.String())
		good = good && ok
		if ok {
			o.Origin = *v
		}
	}
	if q, ok := f["local-pref"]; ok {
		v, ok := d.uint(q.val, "the local-pref of "+p.String(), 0, 1<<32-1)
		good = good && ok
		o.LocalPref, o.HasLocalPref = uint32(v), ok
	}
	if q, ok := f["next-hop"]; ok {
		const expected = "self, or an address of the prefix's family"
		s, ok := d.scalar(q.val, "the next-hop of "+p.String(), expected)
		switch {
		case !ok:
			good = false
		case s == "self":
		default:
			a, err := netip.ParseAddr(s)
			switch {
			case err != nil || a.Zone() != "":
				d.nodeErr(q.val, ErrValue, "expected %s for the next-hop of %s, got %q", expected, p, s)
				good = false
			case a.Is4() != p.Addr().Is4():
				d.nodeErr(q.val, ErrAddress, "next-hop %s of %s is not of the prefix's family", a, p)
				good = false
			case a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.IsLinkLocalUnicast():
				d.nodeErr(q.val, ErrAddress, "next-hop %s of %s cannot be a next hop (unspecified, multicast, loopback or link-local)", a, p)
				good = false
			default:
				o.NextHop = a
			}
		}
	}
	return good
}

// describe renders a process for WriteText: "announce: run
// scripts/api/announce.py, encoder json, receive [parsed updates], no ack".
func (p *Process) describe() string {
	s := fmt.Sprintf("%s: run %s, encoder %s", p.Name, strings.Join(p.Run, " "), p.Encoder)
	if len(p.Receive) > 0 {
		s += ", receive [" + strings.Join(p.Receive, " ") + "]"
	}
	if !p.Ack {
		s += ", no ack"
	}
	return s
}

// describeAPI renders the attributes decodePrefixAPI reads, for
// Origination.describe.
func (o Origination) describeAPI() string {
	var b strings.Builder
	if o.Origin != OriginIGP {
		b.WriteString(" origin " + OriginString(o.Origin))
	}
	if len(o.ASPath) > 0 || len(o.ASSet) > 0 {
		b.WriteString(" as-path")
		for _, a := range o.ASPath {
			fmt.Fprintf(&b, " %d", a)
		}
		if len(o.ASSet) > 0 {
			set := make([]string, len(o.ASSet))
			for i, a := range o.ASSet {
				set[i] = fmt.Sprint(a)
			}
			b.WriteString(" {" + strings.Join(set, ",") + "}")
		}
	}
	if o.HasLocalPref {
		fmt.Fprintf(&b, " local-pref %d", o.LocalPref)
	}
	if o.NextHop.IsValid() {
		fmt.Fprintf(&b, " next-hop %s", o.NextHop)
	}
	return b.String()
}
