package grammar

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Kind is what a value accepts.
type Kind int

// The kinds of values. Node, Router, Peer and Iface are checked against
// the running lab's names; the others by their form alone.
const (
	Node           Kind = iota + 1 // a node of the lab
	Router                         // a router whose BGP speaker is the lab's, or FRR or BIRD run by the lab (not an external router)
	Peer                           // a node; Tab offers those linked to the node Near names
	Iface                          // an interface of the lab
	Addr                           // an IP address
	Prefix                         // an IP prefix
	PrefixOrAddr                   // a prefix, or an address meaning its host prefix
	Uint32                         // 0 to 4294967295
	ASN                            // an AS number, 1 to 4294967295
	Seconds                        // a number of seconds, more than 0
	Community                      // AS:VALUE or a well-known community's name
	LargeCommunity                 // GLOBAL:LOCAL1:LOCAL2
	Word                           // any one word: a file, a name
	Text                           // the rest of the line: free text (Rest only)
	Command                        // the rest of the line: a program and its arguments (Rest only)
	Topic                          // the rest of the line: a command's words, for help (Rest only)
)

// Match classes: when words of several kinds accept the same word, only
// the most specific survive (a keyword beats a node's program, a typed
// value beats free text).
const (
	classLoose  = 1 // any word: Word, Text, Command, Topic
	classTyped  = 2 // a value of a checked kind
	classAbbrev = 3 // an abbreviated keyword
	classExact  = 4 // a keyword in full, or a bracket
)

type kindInfo struct {
	label string // how help shows it by default
	desc  string // what errors say it is
	class int
	rest  bool
	check func(lab *Lab, s string) (any, error)
}

var kinds = map[Kind]kindInfo{
	Node:           {label: "NODE", desc: "a node", class: classTyped, check: checkNode},
	Router:         {label: "ROUTER", desc: "a router running the lab's BGP speaker, FRR or BIRD", class: classTyped, check: checkRouter},
	Peer:           {label: "NODE", desc: "a node", class: classTyped, check: checkNode},
	Iface:          {label: "IFACE", desc: "an interface", class: classTyped, check: checkIface},
	Addr:           {label: "ADDR", desc: "an IP address", class: classTyped, check: checkAddr},
	Prefix:         {label: "PREFIX", desc: "an IP prefix", class: classTyped, check: checkPrefix},
	PrefixOrAddr:   {label: "PREFIX", desc: "an IP prefix or address", class: classTyped, check: checkPrefixOrAddr},
	Uint32:         {label: "N", desc: "a number from 0 to 4294967295", class: classTyped, check: checkUint32},
	ASN:            {label: "ASN", desc: "an AS number", class: classTyped, check: checkASN},
	Seconds:        {label: "SECONDS", desc: "seconds", class: classTyped, check: checkSeconds},
	Community:      {label: "A:B", desc: "a community, or a well-known community's name", class: classTyped, check: checkCommunity},
	LargeCommunity: {label: "A:B:C", desc: "a large community", class: classTyped, check: checkLargeCommunity},
	Word:           {label: "WORD", desc: "a word", class: classLoose, check: checkWord},
	Text:           {label: "TEXT", desc: "text", class: classLoose, rest: true, check: checkAny},
	Command:        {label: "COMMAND", desc: "a program and its arguments", class: classLoose, rest: true, check: checkAny},
	Topic:          {label: "COMMAND", desc: "a command", class: classLoose, rest: true, check: checkAny},
}

func (k Kind) String() string { return kinds[k].label }

// checkAny accepts any word of a Rest, brackets included: the rest of
// the line is taken verbatim.
func checkAny(_ *Lab, s string) (any, error) { return s, nil }

// checkWord accepts any word but a bracket (a list of words ends at `]`).
func checkWord(_ *Lab, s string) (any, error) {
	if s == "[" || s == "]" {
		return nil, errors.New("a bracket")
	}
	return s, nil
}

func checkNode(lab *Lab, s string) (any, error) {
	if lab.Node(s) == nil {
		return nil, fmt.Errorf("no node %q", s)
	}
	return s, nil
}

func checkRouter(lab *Lab, s string) (any, error) {
	n := lab.Node(s)
	if n == nil || !(n.Speaker || n.Daemon) {
		return nil, fmt.Errorf("%q is not a router running the lab's speaker, FRR or BIRD", s)
	}
	return s, nil
}

func checkIface(lab *Lab, s string) (any, error) {
	if lab.ifaceNode(s) == nil {
		return nil, fmt.Errorf("no interface %q", s)
	}
	return s, nil
}

func checkAddr(_ *Lab, s string) (any, error) { return netip.ParseAddr(s) }

func checkPrefix(_ *Lab, s string) (any, error) { return netip.ParsePrefix(s) }

func checkPrefixOrAddr(_ *Lab, s string) (any, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, errors.New("neither a prefix nor an address")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func checkUint32(_ *Lab, s string) (any, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return nil, errors.New("expected 0..4294967295")
	}
	return uint32(v), nil
}

func checkASN(_ *Lab, s string) (any, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		return nil, errors.New("expected 1..4294967295")
	}
	return uint32(v), nil
}

func checkSeconds(_ *Lab, s string) (any, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, errors.New("expected seconds, more than 0")
	}
	return v, nil
}

// WellKnownCommunities are the community names a Community accepts.
var WellKnownCommunities = map[string]uint32{
	"no-export":           0xFFFFFF01,
	"no-advertise":        0xFFFFFF02,
	"no-export-subconfed": 0xFFFFFF03,
	"local-as":            0xFFFFFF03,
	"no-peer":             0xFFFFFF04,
	"blackhole":           0xFFFF029A,
	"graceful-shutdown":   0xFFFF0000,
}

func checkCommunity(_ *Lab, s string) (any, error) { return ParseCommunity(s) }

// ParseCommunity reads AS:VALUE (each 0..65535) or a well-known name.
func ParseCommunity(s string) (uint32, error) {
	if v, ok := WellKnownCommunities[s]; ok {
		return v, nil
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, errors.New("expected AS:VALUE or a well-known name")
	}
	x, err1 := strconv.ParseUint(a, 10, 16)
	y, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, errors.New("expected AS:VALUE, each 0..65535")
	}
	return uint32(x)<<16 | uint32(y), nil
}

func checkLargeCommunity(_ *Lab, s string) (any, error) { return ParseLargeCommunity(s) }

// ParseLargeCommunity reads GLOBAL:LOCAL1:LOCAL2, each 0..4294967295.
func ParseLargeCommunity(s string) ([3]uint32, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return [3]uint32{}, errors.New("expected GLOBAL:LOCAL1:LOCAL2")
	}
	var c [3]uint32
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return c, errors.New("expected GLOBAL:LOCAL1:LOCAL2, each 0..4294967295")
		}
		c[i] = uint32(v)
	}
	return c, nil
}
