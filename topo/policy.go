package topo

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// This file holds the model of routing policy (issue 9): the named objects
// of the file's `routing:` section, the per-end BGP settings of links,
// link relations (customer, provider, peer) and aggregates. Every value
// here is plain data: no functions, and every map beside a slice in file
// order, so that two labs can be compared value by value.

// Routing holds the named policy objects of `routing:`. Each kind has its
// own names (a prefix list and a policy may share one). The maps index the
// slices, which are in file order. Lab.Routing is never nil after Load.
type Routing struct {
	Prefix    map[string]*PrefixList
	ASPath    map[string]*ASPathList
	Community map[string]*CommunityList
	Policy    map[string]*Policy

	PrefixLists    []*PrefixList
	ASPathLists    []*ASPathList
	CommunityLists []*CommunityList
	Policies       []*Policy
}

// PrefixList is a named list of prefix entries (FRR's prefix-list): the
// first entry that matches a route decides, and a route no entry matches
// is denied.
type PrefixList struct {
	Name    string
	Entries []PrefixEntry
	Pos     Pos
}

// PrefixEntry matches a route whose prefix lies inside Prefix (or is it)
// and whose length is in [Min, Max]: FRR's `ge`/`le`, resolved. With
// neither written, Min = Max = Prefix.Bits() (the exact prefix); with only
// min, Max is 32 or 128; with only max, Min is Prefix.Bits().
type PrefixEntry struct {
	Prefix   netip.Prefix // masked
	Min, Max int
	Deny     bool
	Pos      Pos
}

// Matches reports whether the entry matches prefix p (its action aside).
func (e PrefixEntry) Matches(p netip.Prefix) bool {
	return p.Addr().Is4() == e.Prefix.Addr().Is4() && p.Bits() >= e.Min && p.Bits() <= e.Max &&
		p.Bits() >= e.Prefix.Bits() && e.Prefix.Contains(p.Addr())
}

// ASPathList is a named list of AS-path regular expressions (FRR's
// `bgp as-path access-list`): first match decides, no match denies.
type ASPathList struct {
	Name    string
	Entries []ASPathEntry
	Pos     Pos
}

// ASPathEntry is one regular expression in FRR's syntax, as written (`_`
// included); ASPathRegexp compiles it. Load has checked that it compiles.
type ASPathEntry struct {
	Path string
	Deny bool
	Pos  Pos
}

// CommunityList is a named list of communities (FRR's community-list and
// large-community-list in one): an entry matches a route that carries its
// community; first match decides, no match denies.
type CommunityList struct {
	Name    string
	Entries []CommunityEntry
	Pos     Pos
}

// CommunityEntry is one RFC 1997 community (IsLarge false: Community) or
// one RFC 8092 large community (IsLarge true: Large).
type CommunityEntry struct {
	Community uint32
	Large     [3]uint32
	IsLarge   bool
	Deny      bool
	Pos       Pos
}

// Policy is a named route map: entries are tried in order, the first whose
// Match matches decides (Deny drops the route, otherwise Set is applied
// and the route accepted); a route no entry matches is denied, as FRR does.
type Policy struct {
	Name    string
	Entries []PolicyEntry
	Pos     Pos
}

// PolicyEntry is one clause of a policy.
type PolicyEntry struct {
	Deny  bool
	Match PolicyMatch
	Set   PolicySet
	Pos   Pos
}

// Origin values of the ORIGIN attribute (RFC 4271 §5.1.1), as PolicyMatch
// and PolicySet carry them.
const (
	OriginIGP        uint8 = 0
	OriginEGP        uint8 = 1
	OriginIncomplete uint8 = 2
)

// OriginString names an ORIGIN value as the file writes it.
func OriginString(o uint8) string {
	switch o {
	case OriginIGP:
		return "igp"
	case OriginEGP:
		return "egp"
	case OriginIncomplete:
		return "incomplete"
	}
	return fmt.Sprintf("origin(%d)", o)
}

// PolicyMatch is what a policy entry matches; every condition set must
// hold (nil and zero ones are absent). A prefix, AS-path or community list
// matches when its first matching entry permits.
type PolicyMatch struct {
	Prefix     *PrefixList
	ASPath     *ASPathList
	Community  *CommunityList
	Origin     *uint8 // OriginIGP, OriginEGP or OriginIncomplete
	NeighborAS uint32 // the AS of the peer the route comes from / goes to
}

// PolicySet is what a permitting policy entry changes; nil and zero
// fields change nothing.
type PolicySet struct {
	LocalPref, MED, Weight *uint32
	Prepend                Prepend
	Origin                 *uint8
	Community              CommunitySet
	LargeCommunity         LargeCommunitySet
}

// Prepend adds to the AS_PATH on export: Count copies of our own AS, or
// the ASNs listed (leftmost first, so the path then starts with ASNs[0]).
// At most one of the two is set; the zero value prepends nothing.
type Prepend struct {
	Count int
	ASNs  []uint32
}

// IsZero reports whether p prepends nothing.
func (p Prepend) IsZero() bool { return p.Count == 0 && len(p.ASNs) == 0 }

// CommunitySet changes a route's RFC 1997 communities, in this order:
// replace them all (Replace: by Set, which may be empty to strip every
// community), delete those listed (Delete, and those DeleteList permits),
// add those listed (Add). Replace excludes Delete and Add.
type CommunitySet struct {
	Replace    bool
	Set        []uint32
	Add        []uint32
	Delete     []uint32
	DeleteList *CommunityList
}

// IsZero reports whether s changes nothing.
func (s CommunitySet) IsZero() bool {
	return !s.Replace && len(s.Add) == 0 && len(s.Delete) == 0 && s.DeleteList == nil
}

// LargeCommunitySet is CommunitySet for RFC 8092 large communities.
type LargeCommunitySet struct {
	Replace    bool
	Set        [][3]uint32
	Add        [][3]uint32
	Delete     [][3]uint32
	DeleteList *CommunityList
}

// IsZero reports whether s changes nothing.
func (s LargeCommunitySet) IsZero() bool {
	return !s.Replace && len(s.Add) == 0 && len(s.Delete) == 0 && s.DeleteList == nil
}

// ASPathRegexp compiles an AS-path regular expression written in FRR's
// syntax. It matches the path as FRR renders it: ASNs separated by single
// spaces, AS_SETs in braces with commas ("65001 65002 {3,4}"), confederation
// segments in parentheses, and "" for an empty path. As in FRR, every `_`
// stands for a delimiter: the start or end of the path, a space, a comma,
// a brace or a parenthesis, so "_65001_" matches 65001 anywhere in the path
// but not 165001. The match is unanchored unless the expression uses ^ or $.
func ASPathRegexp(path string) (*regexp.Regexp, error) {
	// FRR replaces every underscore, without regard to escapes or
	// brackets; doing the same keeps a user's expression meaning what it
	// means in FRR.
	return regexp.Compile(strings.ReplaceAll(path, "_", `(^|[,{}() ]|$)`))
}

// Relation is the business relationship a link carries, as written on
// the link; A and B are the link's endpoints in file order.
type Relation uint8

const (
	// RelNone: no relation, no automatic policy.
	RelNone Relation = iota
	// RelProviderCustomer: A is B's provider (`relation: provider-customer`).
	RelProviderCustomer
	// RelCustomerProvider: A is B's customer (`relation: customer-provider`).
	RelCustomerProvider
	// RelPeer: A and B are settlement-free peers (`relation: peer`).
	RelPeer
)

func (r Relation) String() string {
	switch r {
	case RelNone:
		return "none"
	case RelProviderCustomer:
		return "provider-customer"
	case RelCustomerProvider:
		return "customer-provider"
	case RelPeer:
		return "peer"
	}
	return fmt.Sprintf("Relation(%d)", uint8(r))
}

// Role is what a neighbour is to a router across a link with a relation.
// Its value is the third field of the large community that tags the
// routes learned from such a neighbour (see Tag).
type Role uint8

const (
	RoleNone     Role = 0
	RoleCustomer Role = 1 // the neighbour is our customer
	RolePeer     Role = 2 // the neighbour is our peer
	RoleProvider Role = 3 // the neighbour is our provider
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleCustomer:
		return "customer"
	case RolePeer:
		return "peer"
	case RoleProvider:
		return "provider"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// RelationTagFunction is the second field of the relation tags: routes
// learned from a customer of AS X carry the large community X:1000:1, from
// a peer X:1000:2, from a provider X:1000:3 (RFC 8195's layout of
// "informational" large communities). The tags are kept inside the AS and
// stripped on export to another AS.
const RelationTagFunction = 1000

// Tag returns the large community that marks routes AS as learned from a
// neighbour of this role; ok is false for RoleNone.
func (r Role) Tag(as uint32) (c [3]uint32, ok bool) {
	if r < RoleCustomer || r > RoleProvider {
		return c, false
	}
	return [3]uint32{as, RelationTagFunction, uint32(r)}, true
}

// RoleOf returns what peer, one end of the link, is to the link's other
// end: RoleCustomer on a provider-customer link for its B end, and so on.
// It is RoleNone on a link without a relation, or when peer is not an end.
func (k *Link) RoleOf(peer *Node) Role {
	var isA bool
	switch peer {
	case k.A.Node:
		isA = true
	case k.B.Node:
	default:
		return RoleNone
	}
	switch k.Relation {
	case RelPeer:
		return RolePeer
	case RelProviderCustomer:
		if isA {
			return RoleProvider
		}
		return RoleCustomer
	case RelCustomerProvider:
		if isA {
			return RoleCustomer
		}
		return RoleProvider
	}
	return RoleNone
}

// RelationLocalPref holds the LOCAL_PREF that relation policy sets on
// import, per role of the neighbour: the lab-wide setting
// `bgp: {relation-local-pref: {customer, peer, provider}}`.
type RelationLocalPref struct {
	Customer, Peer, Provider uint32
}

// Default relation local-prefs: customers' routes over peers' over
// providers', as Gao and Rexford's conditions (and most operators) have it.
const (
	DefaultLocalPrefCustomer = 200
	DefaultLocalPrefPeer     = 150
	DefaultLocalPrefProvider = 100
)

// Of returns the local-pref for routes learned from a neighbour of role r
// (0 for RoleNone: relation policy sets nothing then).
func (p RelationLocalPref) Of(r Role) uint32 {
	switch r {
	case RoleCustomer:
		return p.Customer
	case RolePeer:
		return p.Peer
	case RoleProvider:
		return p.Provider
	}
	return 0
}

// EndBGP is the BGP configuration one router end of a link gives its
// sessions on that link: the `links[].bgp.<router>` settings. Every router
// link has one per end (Link.BGP), all zero but the password when nothing
// is written. It applies to the sessions of both families over the link.
type EndBGP struct {
	// LocalPref is set on every route learned (import); MED on every route
	// sent (export); Weight (FRR's, local to this router) on import.
	LocalPref, MED, Weight *uint32
	// Prepend is applied on export.
	Prepend Prepend
	// PolicyIn and PolicyOut are applied on import and export, after the
	// settings above and after relation policy.
	PolicyIn, PolicyOut *Policy
	// MaxPrefix, when non-zero, is the most routes accepted from the peer
	// (per session): beyond it the session is closed with a Cease 6/1
	// NOTIFICATION (RFC 4486), or only a warning is logged when
	// MaxPrefixWarningOnly.
	MaxPrefix            int
	MaxPrefixWarningOnly bool
	// Passive: never dial, only accept.
	Passive bool
	// Shutdown: administratively down; ShutdownMessage, when set, is sent
	// in the Cease NOTIFICATION (RFC 8203/9003, at most 255 bytes).
	Shutdown        bool
	ShutdownMessage string
	// Password is this end's effective TCP MD5 key: its own `password:`
	// when written (even ""), else the link's.
	Password string
	// RemoteAS is the AS this end expects its peer to have, or 0 for the
	// peer's real AS. A wrong one makes the session fail with a
	// NOTIFICATION 2/2 (Bad Peer AS).
	RemoteAS uint32
	// DefaultOriginate: send the peer a default route.
	DefaultOriginate bool
	// AllowASIn is how many times our own AS may appear in a received
	// AS_PATH (0: never, the RFC 4271 loop check).
	AllowASIn int
	// Leak turns off this end's relation export rule: every route is sent
	// to the peer, as in a route leak. Only on links with a relation.
	Leak bool
	// Pos is where the settings are written (the router's key under
	// `bgp:`), or the link when none are.
	Pos Pos
}

// Aggregate is an aggregate route a router originates when it has a more
// specific route inside Prefix (RFC 4271 §9.2.2.2).
type Aggregate struct {
	Prefix netip.Prefix // masked
	// SummaryOnly suppresses the more specific routes towards peers.
	SummaryOnly bool
	// ASSet gives the aggregate an AS_SET of the ASes of the routes it
	// covers, instead of ATOMIC_AGGREGATE.
	ASSet bool
	Pos   Pos
}

// IBGPMode is how the routers of one AS peer with each other.
type IBGPMode uint8

const (
	// IBGPFullMesh: a session between the loopbacks of every pair of the
	// AS's routers (the default).
	IBGPFullMesh IBGPMode = iota + 1
	// IBGPRouteReflector: sessions between the loopbacks of every route
	// reflector (Router.RR) and every other router of the AS.
	IBGPRouteReflector
	// IBGPPerLink: a session over every link inside the AS, between the
	// link's addresses (the behaviour before loopbacks).
	IBGPPerLink
)

func (m IBGPMode) String() string {
	switch m {
	case IBGPFullMesh:
		return "full-mesh"
	case IBGPRouteReflector:
		return "route-reflector"
	case IBGPPerLink:
		return "per-link"
	}
	return fmt.Sprintf("IBGPMode(%d)", uint8(m))
}
