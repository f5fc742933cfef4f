package policy

import (
	"errors"
	"fmt"

	"lab/speaker/rib"
)

// Role is a neighbour's business relationship with us (Gao and Rexford,
// "Stable Internet routing without global coordination", 2001).
type Role uint8

// Roles of a neighbour, seen from us.
const (
	Customer Role = iota + 1 // it buys transit from us
	Peer                     // we exchange our customers' routes for free
	Provider                 // we buy transit from it
)

func (r Role) String() string {
	switch r {
	case Customer:
		return "customer"
	case Peer:
		return "peer"
	case Provider:
		return "provider"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// RelationPrefs are the LOCAL_PREFs given on import to the routes of
// customers, peers and providers: a customer's route is preferred (it
// earns money), a provider's is the last resort (it costs money).
type RelationPrefs struct {
	Customer, Peer, Provider uint32
}

// DefaultRelationPrefs are the lab's default relation LOCAL_PREFs.
var DefaultRelationPrefs = RelationPrefs{Customer: 200, Peer: 150, Provider: 100}

// RelationTagLocal1 is the first local part of the large community that
// tags a route on import with where it came from: ourAS:1000:1 from a
// customer, ourAS:1000:2 from a peer, ourAS:1000:3 from a provider.
// Large communities hold a 4-byte AS.
const RelationTagLocal1 = 1000

// RelationTag returns the large community that tags the routes learnt
// from a neighbour of the role given.
func RelationTag(ourAS uint32, from Role) rib.LargeCommunity {
	return rib.LargeCommunity{Global: ourAS, Local1: RelationTagLocal1, Local2: uint32(from)}
}

// IsRelationTag reports whether c is one of our relation tags
// (ourAS:1000:*), which the speaker strips from the routes it exports to
// another AS: they mean something only inside ours.
func IsRelationTag(c rib.LargeCommunity, ourAS uint32) bool {
	return c.Global == ourAS && c.Local1 == RelationTagLocal1
}

// RelationNotFromCustomer is the name of the community list of the
// relation tags of routes learnt from peers and providers, which the
// export policies to peers and providers deny.
const RelationNotFromCustomer = "RELATION-FROM-PEER-OR-PROVIDER"

// RelationPolicies returns the Gao-Rexford policies of a session with a
// neighbour of the role given, as configuration (merge it with
// Config.Add: every session with a neighbour of the same role has the
// same objects) and the names of the import and export policies:
//
//   - import, RELATION-FROM-<ROLE>: set the role's LOCAL_PREF from prefs,
//     remove any relation tag of ours the route carries and tag it with
//     the role's (RelationTag);
//   - export to a customer, RELATION-TO-CUSTOMER: every route;
//   - export to a peer or a provider, RELATION-TO-PEER and
//     RELATION-TO-PROVIDER: deny the routes tagged as learnt from a peer
//     or a provider (RelationNotFromCustomer), permit the rest: our own
//     routes and our customers';
//   - with leak, the export to a peer or provider is every route
//     (RELATION-TO-PEER-LEAK, RELATION-TO-PROVIDER-LEAK): the route leak
//     exercise.
//
// The policies apply to eBGP sessions; iBGP ones carry the tags inside
// the AS unchanged.
func RelationPolicies(ourAS uint32, role Role, prefs RelationPrefs, leak bool) (cfg Config, in, out string, err error) {
	if ourAS == 0 {
		return Config{}, "", "", errors.New("relation policies: AS 0")
	}
	var pref uint32
	switch role {
	case Customer:
		pref = prefs.Customer
	case Peer:
		pref = prefs.Peer
	case Provider:
		pref = prefs.Provider
	default:
		return Config{}, "", "", fmt.Errorf("relation policies: bad role %d", role)
	}
	in = "RELATION-FROM-" + upper(role)
	out = "RELATION-TO-" + upper(role)
	cfg.Policies = append(cfg.Policies, Policy{Name: in, Entries: []Entry{{
		Action: Permit,
		Set: Set{
			LocalPref: &pref,
			LargeCommunity: LargeCommunitySet{
				Delete: []rib.LargeCommunity{RelationTag(ourAS, Customer), RelationTag(ourAS, Peer), RelationTag(ourAS, Provider)},
				Add:    []rib.LargeCommunity{RelationTag(ourAS, role)},
			},
		},
	}}})
	switch {
	case role == Customer:
		cfg.Policies = append(cfg.Policies, Policy{Name: out, Entries: []Entry{{Action: Permit}}})
	case leak:
		out += "-LEAK"
		cfg.Policies = append(cfg.Policies, Policy{Name: out, Entries: []Entry{{Action: Permit}}})
	default:
		cfg.CommunityLists = append(cfg.CommunityLists, CommunityList{Name: RelationNotFromCustomer, Entries: []CommunityEntry{
			{IsLarge: true, Large: RelationTag(ourAS, Peer)},
			{IsLarge: true, Large: RelationTag(ourAS, Provider)},
		}})
		cfg.Policies = append(cfg.Policies, Policy{Name: out, Entries: []Entry{
			{Action: Deny, Match: Match{CommunityList: RelationNotFromCustomer}},
			{Action: Permit},
		}})
	}
	return cfg, in, out, nil
}

func upper(r Role) string {
	switch r {
	case Customer:
		return "CUSTOMER"
	case Peer:
		return "PEER"
	}
	return "PROVIDER"
}
