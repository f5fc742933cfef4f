package shell

import (
	"errors"
	"sync"
	"unicode/utf8"

	prompt "github.com/c-bata/go-prompt"
)

// keys is go-prompt's terminal reader, giving one key per Read.
//
// go-prompt takes what one read of the terminal returns as one key when
// it is a key's byte sequence, and as text to insert otherwise. People
// paste, and terminals deliver a command and its Enter together: a line
// pasted with its newline became text with a carriage return in it (the
// screen went blank and nothing ran until another Enter), and several
// lines became one command. keys splits each read into keys (a run of
// text, a control character, an escape sequence), so Enter is a key
// wherever it falls.
//
// After an Enter it gives nothing more until the next prompt starts
// (Setup): go-prompt's Input returns at the Enter and drops whatever its
// reading goroutine read after it, so the rest of a paste, and what is
// typed while the command runs, is kept here and read at the next prompt,
// in order, once.
//
// go-prompt calls Read from its reading goroutine and Setup from the
// goroutine calling Input; mu guards pending and held between them.
type keys struct {
	in prompt.ConsoleParser

	mu      sync.Mutex
	pending []byte // read from the terminal, not yet given
	held    bool   // an Enter was given: nothing more until Setup
}

// errNoKey is Read's answer when there is no key to give now; go-prompt
// ignores read errors and tries again.
var errNoKey = errors.New("no key")

var _ prompt.ConsoleParser = (*keys)(nil)

// Setup starts a prompt: keys are given again.
func (k *keys) Setup() error {
	k.mu.Lock()
	k.held = false
	k.mu.Unlock()
	return k.in.Setup()
}

// TearDown ends a prompt.
func (k *keys) TearDown() error { return k.in.TearDown() }

// GetWinSize returns the terminal's size.
func (k *keys) GetWinSize() *prompt.WinSize { return k.in.GetWinSize() }

// Read returns the next key.
func (k *keys) Read() ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.held {
		return nil, errNoKey
	}
	if len(k.pending) == 0 || partialRune(k.pending) {
		b, err := k.in.Read()
		k.pending = append(k.pending, b...)
		if len(k.pending) == 0 {
			if err == nil {
				err = errNoKey
			}
			return nil, err
		}
		if err == nil && len(b) > 0 && partialRune(k.pending) {
			return nil, errNoKey // the rest of the character is on its way
		}
	}
	n := keyLen(k.pending)
	key := append([]byte(nil), k.pending[:n]...)
	k.pending = k.pending[n:]
	if len(k.pending) == 0 {
		k.pending = nil // let a large paste's buffer go
	}
	if n == 1 && (key[0] == '\r' || key[0] == '\n') {
		k.held = true
	}
	return key, nil
}

// partialRune reports whether b is only the beginning of a UTF-8
// character: a read may end in the middle of one.
func partialRune(b []byte) bool {
	return len(b) < utf8.UTFMax && b[0] >= utf8.RuneSelf && !utf8.FullRune(b)
}

// keyLen returns the length of the key b starts with: an escape sequence,
// one control character, or a run of text up to the next of those (not
// ending in the middle of a UTF-8 character when more may follow).
func keyLen(b []byte) int {
	switch c := b[0]; {
	case c == 0x1b:
		return escapeLen(b)
	case c < 0x20 || c == 0x7f:
		return 1
	}
	n := 1
	for n < len(b) && b[n] >= 0x20 && b[n] != 0x7f && b[n] != 0x1b {
		n++
	}
	if n == len(b) {
		// Keep a character cut by the end of the read for the next.
		for i := n - 1; i >= max(0, n-utf8.UTFMax); i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:n]) && i > 0 {
					return i
				}
				break
			}
		}
	}
	return n
}

// escapeLen returns the length of the escape sequence b starts with:
// CSI (ESC [ parameters final, and the Linux console's ESC [ [ x), SS3
// (ESC O x), ESC and one character (Alt), or ESC alone.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 1
	}
	switch b[1] {
	case '[':
		if len(b) >= 4 && b[2] == '[' {
			return 4
		}
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1
			}
		}
		return len(b)
	case 'O':
		return min(3, len(b))
	}
	if b[1] < 0x20 || b[1] == 0x7f {
		return 1 // Escape, then a key of its own
	}
	return 2
}
