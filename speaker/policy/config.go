// Package policy evaluates a BGP speaker's routing policies: prefix lists,
// AS-path lists, community lists and policies (FRR's route-maps) that
// accept or refuse a route and change its path attributes, with the
// semantics of FRR's route-maps (see RouteMap.Apply), and the Gao-Rexford
// policies of business relationships (RelationPolicies).
//
// The package is pure data: no goroutines, no kernel. A Config is plain
// data, filled from the topology; Compile checks it and turns it into
// Policies, which are immutable and safe for concurrent use (their hit
// counters are atomic).
package policy

import (
	"fmt"
	"net/netip"
	"reflect"

	"lab/speaker/rib"
)

// Action is what a list or policy entry does with what it matches.
type Action uint8

// Actions. Permit is the zero value: entries permit unless they say deny.
const (
	Permit Action = iota
	Deny
)

func (a Action) String() string {
	if a == Deny {
		return "deny"
	}
	return "permit"
}

// Config is the routing policy configuration of a speaker: named lists
// and policies, each name unique within its kind. Slices keep the order
// of the file, which listings keep too.
type Config struct {
	PrefixLists    []PrefixList
	ASPathLists    []ASPathList
	CommunityLists []CommunityList
	Policies       []Policy
}

// PrefixList is a named list of prefix entries (FRR's ip/ipv6 prefix-list,
// both families in one list). The first entry that matches a route's
// prefix decides; a prefix no entry matches is denied.
type PrefixList struct {
	Name    string
	Entries []PrefixEntry
}

// PrefixEntry matches the prefixes inside Prefix (same family) whose length
// is in [Min, Max]: FRR's ge and le, resolved (with neither, both are the
// length of Prefix; with ge alone Max is 32 or 128; with le alone Min is
// the length of Prefix). Min and Max both 0 mean the length of Prefix.
type PrefixEntry struct {
	Prefix   netip.Prefix
	Min, Max int
	Action   Action
}

// ASPathList is a named list of AS_PATH regular expressions (FRR's
// bgp as-path access-list). The first entry whose expression matches
// decides; a path none matches is denied.
type ASPathList struct {
	Name    string
	Entries []ASPathEntry
}

// ASPathEntry is a regular expression in FRR's syntax (POSIX extended,
// with `_` for a separator or either end: see ASPathRegexp), matched
// against the AS_PATH as FRR renders it ("65001 65002 {3,4}").
type ASPathEntry struct {
	Regex  string
	Action Action
}

// CommunityList is a named list of communities (FRR's bgp community-list
// and large-community-list, both kinds in one list). A route matches the
// list when the first entry whose community the route carries permits.
type CommunityList struct {
	Name    string
	Entries []CommunityEntry
}

// CommunityEntry is one standard (RFC 1997) community or, when IsLarge,
// one large (RFC 8092) community.
type CommunityEntry struct {
	Community uint32
	Large     rib.LargeCommunity
	IsLarge   bool
	Action    Action
}

// Policy is a named, ordered list of entries: FRR's route-map. See
// RouteMap.Apply for its evaluation.
type Policy struct {
	Name    string
	Entries []Entry
}

// Entry is one entry of a policy: when every clause of Match given holds,
// the entry decides; a permit entry then applies Set.
type Entry struct {
	Action Action
	Match  Match
	Set    Set
}

// Match holds an entry's match clauses; the zero value of each is absent.
// An entry without any matches every route.
type Match struct {
	// PrefixList, ASPathList and CommunityList name lists of the Config:
	// the route matches when the list permits it.
	PrefixList    string
	ASPathList    string
	CommunityList string
	// Origin, when set, is the ORIGIN the route must have.
	Origin *rib.Origin
	// NeighborAS, when not 0, is the AS the session's peer must be in
	// (Route.PeerAS): the peer a route was learnt from by an import
	// policy, the peer it is sent to by an export one.
	NeighborAS uint32
}

// Set holds a permit entry's set clauses; the zero value of each is
// absent. They apply in this order: LOCAL_PREF, MED, weight, ORIGIN,
// AS_PATH prepending, communities, large communities.
type Set struct {
	LocalPref *uint32
	MED       *uint32
	// Weight is the path's weight, local to the speaker (FRR's set weight).
	Weight         *uint32
	Origin         *rib.Origin
	Prepend        Prepend
	Community      CommunitySet
	LargeCommunity LargeCommunitySet
}

// Prepend is `set as-path prepend`: Count copies of our own AS
// (Route.LocalAS), or the ASNs given, first to last at the front of the
// path. At most one of the two is given.
type Prepend struct {
	Count int
	ASNs  []uint32
}

// CommunitySet changes the standard communities of a route, in this
// order: when Set is not nil (even empty) the route's communities are
// replaced by it (an empty Set removes them all: FRR's set community
// none); then every community in Delete, and every one the first
// matching standard entry of the list named DeleteList permits, is
// removed; then Add's are added. A changed list is sorted numerically
// without duplicates, as FRR keeps it.
type CommunitySet struct {
	Add, Set, Delete []uint32
	DeleteList       string
}

// LargeCommunitySet is CommunitySet for large communities (the large
// entries of DeleteList), sorted as FRR keeps them: by global
// administrator, then the two local parts.
type LargeCommunitySet struct {
	Add, Set, Delete []rib.LargeCommunity
	DeleteList       string
}

func (s *Set) empty() bool {
	return s.LocalPref == nil && s.MED == nil && s.Weight == nil && s.Origin == nil &&
		s.Prepend.Count == 0 && len(s.Prepend.ASNs) == 0 &&
		s.Community.Set == nil && len(s.Community.Add) == 0 && len(s.Community.Delete) == 0 && s.Community.DeleteList == "" &&
		s.LargeCommunity.Set == nil && len(s.LargeCommunity.Add) == 0 && len(s.LargeCommunity.Delete) == 0 && s.LargeCommunity.DeleteList == ""
}

// Add merges the objects of o into c. An object whose name c already has
// is skipped when it is the same, an error otherwise: the generated
// relation policies of several links of one router are the same objects
// (RelationPolicies), and must not clash with written ones.
func (c *Config) Add(o Config) error {
	var err error
	c.PrefixLists, err = merge(c.PrefixLists, o.PrefixLists, "prefix list", func(x PrefixList) string { return x.Name })
	if err != nil {
		return err
	}
	c.ASPathLists, err = merge(c.ASPathLists, o.ASPathLists, "as-path list", func(x ASPathList) string { return x.Name })
	if err != nil {
		return err
	}
	c.CommunityLists, err = merge(c.CommunityLists, o.CommunityLists, "community list", func(x CommunityList) string { return x.Name })
	if err != nil {
		return err
	}
	c.Policies, err = merge(c.Policies, o.Policies, "policy", func(x Policy) string { return x.Name })
	return err
}

func merge[T any](have, add []T, kind string, name func(T) string) ([]T, error) {
next:
	for _, x := range add {
		for _, y := range have {
			if name(x) != name(y) {
				continue
			}
			if !reflect.DeepEqual(x, y) {
				return have, fmt.Errorf("%s %q is defined twice, differently", kind, name(x))
			}
			continue next
		}
		have = append(have, x)
	}
	return have, nil
}
