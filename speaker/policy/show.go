package policy

// Info is a policy as `show routing policy` lists it: its entries as
// configured, with their counters.
type Info struct {
	Name    string
	Entries []EntryInfo
	// NoMatch counts the routes no entry matched: the implicit deny.
	NoMatch uint64
}

// EntryInfo is an entry of a policy and the number of routes it decided
// (permitted or denied).
type EntryInfo struct {
	Entry
	Hits uint64
}

// Show lists the policies with their counters, in the Config's order:
// every one when name is "", else the one named (none when there is no
// such policy). The counters are read one by one while other goroutines
// may be applying the policies: a listing is not a snapshot of one
// instant.
func (ps *Policies) Show(name string) []Info {
	var out []Info
	for _, m := range ps.maps {
		if name != "" && m.name != name {
			continue
		}
		in := Info{Name: m.name, Entries: make([]EntryInfo, len(m.entries)), NoMatch: m.noMatch.Load()}
		for i := range m.entries {
			e := &m.entries[i]
			in.Entries[i] = EntryInfo{Entry: *e.cfg, Hits: e.hits.Load()}
		}
		out = append(out, in)
	}
	return out
}
