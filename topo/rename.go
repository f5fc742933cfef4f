package topo

import (
	"fmt"
	"os"
)

// LoadAs is Load with the lab's name replaced by name, as `lab run --name`
// asks: the same file can then run twice side by side (tests do), each
// lab with its own namespaces, socket and state file. An invalid name is
// reported like an invalid `name:` field.
func LoadAs(path, name string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	return ParseAs(path, data, name)
}

// ParseAs is Parse with the lab's name replaced by name ("" keeps the
// file's).
func ParseAs(file string, data []byte, name string) (*Lab, error) {
	d := newDecoder(file, data)
	doc := d.decodeYAML(data)
	if doc == nil || d.aborted {
		return nil, sortErrors(d.errs)
	}
	raw := d.decodeLab(doc)
	if d.aborted {
		return nil, sortErrors(d.errs)
	}
	if name != "" {
		raw.name.put(name, Pos{File: "--name"})
	}
	b := &builder{decoder: d, raw: raw}
	lab := b.build()
	if len(d.errs) == 0 {
		d.validateTests(doc, lab)
	}
	if len(d.errs) > 0 {
		return nil, sortErrors(d.errs)
	}
	return lab, nil
}
