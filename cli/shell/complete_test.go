package shell

import (
	"path/filepath"
	"testing"

	prompt "github.com/c-bata/go-prompt"
	"github.com/google/go-cmp/cmp"

	"lab/control"
)

func completionInfo() *control.Info {
	return &control.Info{Name: "simple-bgp", Nodes: []control.NodeInfo{
		{Name: "as1ra", Kind: "router", Interfaces: []control.IfaceInfo{
			{Name: "as1ra-eth0", Peer: "as2rb-eth0"}, {Name: "as1ra-eth1", Peer: "as3rc-eth0"}, {Name: "as1ra-eth2", Peer: "h1-eth0"}}},
		{Name: "as2rb", Kind: "router", Interfaces: []control.IfaceInfo{{Name: "as2rb-eth0", Peer: "as1ra-eth0"}}},
		{Name: "as3rc", Kind: "router", Interfaces: []control.IfaceInfo{{Name: "as3rc-eth0", Peer: "as1ra-eth1"}}},
		{Name: "h1", Kind: "host", Interfaces: []control.IfaceInfo{{Name: "h1-eth0", Peer: "as1ra-eth2"}}},
	}}
}

// What Tab offers at each point of a line: commands and nodes first, then
// a node's programs and router verbs, show's words, link's nodes,
// neighbours and interfaces.
func TestComplete(t *testing.T) {
	s := &Shell{Info: completionInfo()}
	for _, c := range []struct {
		line string
		want []string
	}{
		{"pi", []string{"pingall", "ping4all", "ping6all", "pingpair", "ping4pair", "ping6pair"}},
		{"as", []string{"as1ra", "as2rb", "as3rc"}},
		{"h1 tr", []string{"traceroute", "traceroute6"}},
		{"as1ra s", []string{"show", "ss"}},
		{"h1 s", []string{"ss"}}, // a host has no router verbs
		{"as1ra show ", []string{"bgp", "ip", "ipv6", "log", "routing"}},
		{"as1ra show bgp s", []string{"summary"}},
		{"h1 ping a", []string{"as1ra", "as2rb", "as3rc"}},
		{"link as1ra ", []string{"as2rb", "as3rc", "h1"}},
		{"link as1ra as2rb ", []string{"down", "up", "blackhole", "restore"}},
		{"link as1ra-eth", []string{"as1ra-eth0", "as1ra-eth1", "as1ra-eth2"}},
		{"link as1ra-eth0 ", []string{"up", "down"}},
		{"help pinga", []string{"pingall"}},
	} {
		var got []string
		for _, sg := range s.suggest(c.line) {
			got = append(got, sg.Text)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("complete(%q) (-want +got):\n%s", c.line, diff)
		}
	}
}

func document(line string) *prompt.Document {
	b := prompt.NewBuffer()
	b.InsertText(line, false, true)
	return b.Document()
}

// History survives from one shell to the next, the last 1,000 lines.
func TestHistory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "sub", "history")
	s := &Shell{HistoryFile: f}
	if h := s.loadHistory(); h != nil {
		t.Errorf("history before any command: %q", h)
	}
	for i := 0; i < 1005; i++ {
		s.appendHistory("pingall " + string(rune('a'+i%26)))
	}
	s.appendHistory("as1ra show bgp summary")
	h := (&Shell{HistoryFile: f}).loadHistory()
	if len(h) != 1000 || h[len(h)-1] != "as1ra show bgp summary" {
		t.Errorf("history: %d lines ending %q, want 1000 ending with the last command", len(h), h[len(h)-1])
	}
}
