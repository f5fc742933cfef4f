package shell

import (
	prompt "github.com/c-bata/go-prompt"

	"lab/cli/grammar"
)

// complete is go-prompt's completer, called after every key. The menu
// shows on Tab, or once a word is being typed; not on an empty prompt,
// where it covered the screen before anything was typed.
func (s *Shell) complete(d prompt.Document) []prompt.Suggest {
	s.menu = showMenu(d.LastKeyStroke(), d.GetWordBeforeCursor(), s.menu)
	if !s.menu {
		return nil
	}
	return s.suggest(d.TextBeforeCursor())
}

// showMenu says whether the completion menu shows after key: on Tab,
// while a word is typed, and, once open, while moving in it.
func showMenu(key prompt.Key, word string, open bool) bool {
	switch key {
	case prompt.Tab, prompt.BackTab:
		return true
	case prompt.Up, prompt.Down, prompt.ControlP, prompt.ControlN:
		return open
	case prompt.NotDefined, prompt.Backspace, prompt.ControlH:
		return word != "" // text typed or deleted in a word
	}
	return false
}

// suggest is what the grammar accepts at the cursor: commands and nodes
// first, then a node's programs or a router's words, show's words, link's
// neighbours and interfaces, ...
func (s *Shell) suggest(before string) []prompt.Suggest {
	var out []prompt.Suggest
	for _, sg := range grammar.Shell.Complete(s.lab(), before) {
		out = append(out, prompt.Suggest{Text: sg.Text, Description: sg.Description})
	}
	return out
}
