package grammar

import "testing"

// The `check` commands: one line per typed check of a `validate:`
// section, options in any order, lists bare or bracketed, free text last.
func TestParseCheck(t *testing.T) {
	runParseCases(t, Shell, seedLab(), []parseCase{
		{"check as1ra session as2rb", "check session neighbor=as2rb node=as1ra"},
		{"check as1ra session 2001:12::b down ipv6 wait 10", "check session family=ipv6 neighbor=2001:12::b node=as1ra state=down wait=10"},
		{"check h1 session as1ra", "check session neighbor=as1ra node=h1"}, // the daemon says a host has no session
		{"check as1ra session as2rb up", `error: unexpected "up" after "check as1ra session as2rb": expected active, connect, down, established, idle, ipv4, ipv6, openconfirm, opensent, wait or the end of the line`},
		{"check as1ra prefix 2001:1234:4::/64 best nexthop as2rb aspath 2 4",
			"check prefix aspath=2,4 aspath-given=aspath best=best nexthop=as2rb node=as1ra prefix=2001:1234:4::/64"},
		{"check as1ra prefix 2001:1234:1::/64 aspath [ ] wait 5", "check prefix aspath-given=aspath node=as1ra prefix=2001:1234:1::/64 wait=5"},
		{"check as1ra prefix 10.4.0.0/24 missing peer 10.12.0.2 community 65000:1 no-export local-pref 200 med 0 origin igp large-community 1:2:3",
			"check prefix community=65000:1,no-export large-community=1:2:3 local-pref=200 med=0 node=as1ra origin=igp peer=10.12.0.2 prefix=10.4.0.0/24 state=missing"},
		{"check as1ra prefix 10.4.0.0/24 best wait 3 aspath-regex ^2_[0-9]+$", "check prefix aspath-regex=^2_[0-9]+$ best=best node=as1ra prefix=10.4.0.0/24 wait=3"},
		{"check as1ra prefix 10.4.0.0/24 aspath-regex ^2 best", "check prefix aspath-regex=^2 best node=as1ra prefix=10.4.0.0/24"}, // the regex takes the rest
		{"check as1ra prefix 10.4.0.0/24 best best", `error: unexpected "best" after "check as1ra prefix 10.4.0.0/24 best"`},
		{"check as1ra prefix 10.4.0.1", `error: unexpected "10.4.0.1" after "check as1ra prefix": expected PREFIX (an IP prefix)`},
		{"check h1 route 0.0.0.0/0 via as1ra", "check route node=h1 prefix=0.0.0.0/0 via=as1ra"},
		{"check as1ra route 10.4.0.0/24 via as1ra-eth0 missing", "check route node=as1ra prefix=10.4.0.0/24 state=missing via-iface=as1ra-eth0"},
		{"check as1ra route 10.4.0.0/24 via 10.12.0.2", "check route node=as1ra prefix=10.4.0.0/24 via=10.12.0.2"},
		{"check h1 ping h2 ipv6 fail wait 2.5", "check ping expect=fail family=ipv6 node=h1 to=h2 wait=2.5"},
		{"check h1 ping 2001:1234:2::1", "check ping node=h1 to=2001:1234:2::1"},
		{"check h1 path h2 via as1ra as2rb", "check path node=h1 to=h2 via=as1ra,as2rb"},
		{"check h1 path h2 via [as1ra as3rc as2rb] ipv4", "check path family=ipv4 node=h1 to=h2 via=as1ra,as3rc,as2rb"},
		{"check as1ra notification as2rb sent 4/0", "check notification code=4/0 dir=sent neighbor=as2rb node=as1ra"},
		{"check as1ra notification as2rb received 6 wait 1", "check notification code=6 dir=received neighbor=as2rb node=as1ra wait=1"},
		{"check as1ra notification as2rb", "check notification neighbor=as2rb node=as1ra"},
		{"check as1ra log Hold Timer Expired (4/0)", "check log node=as1ra regex=Hold Timer Expired (4/0)"},
		{"check as1ra log wait 9 %NOTIFICATION: sent [x]", "check log node=as1ra regex=%NOTIFICATION: sent [x] wait=9"},
		{"check as1ra log", `error: incomplete command "check as1ra log": expected wait or REGEX (text)`},
		{"check as1ra", `error: incomplete command "check as1ra": expected log, notification, path, ping, prefix, route or session`},
		{"check nobody session as2rb", `error: unexpected "nobody" after "check": expected NODE (a node)`},
	})
}
