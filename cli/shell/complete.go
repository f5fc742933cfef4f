package shell

import (
	prompt "github.com/c-bata/go-prompt"

	"lab/cli/grammar"
)

// complete is go-prompt's completer: what the grammar accepts at the
// cursor (commands and nodes first, then a node's programs or a router's
// words, show's words, link's neighbours and interfaces, ...).
func (s *Shell) complete(d prompt.Document) []prompt.Suggest {
	var out []prompt.Suggest
	for _, sg := range grammar.Shell.Complete(s.lab(), d.TextBeforeCursor()) {
		out = append(out, prompt.Suggest{Text: sg.Text, Description: sg.Description})
	}
	return out
}
