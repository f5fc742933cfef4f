package rib

import "testing"

// Sets whose keys hash alike share a chain: each is found by its key,
// and releasing any of them, first, middle or last, leaves the others.
func TestInternerCollisions(t *testing.T) {
	in := NewInterner()
	in.sum = func([]byte) uint64 { return 7 } // every key collides
	sets := make([]*Attrs, 4)
	for i := range sets {
		sets[i] = in.Intern(&Attrs{MED: uint32(i), HasMED: true, ASPath: seq(65000 + uint32(i))})
	}
	for i, s := range sets {
		for j := range i {
			if s == sets[j] {
				t.Fatalf("sets %d and %d are one", j, i)
			}
		}
	}
	if in.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", in.Len())
	}
	for i := range sets {
		if got := in.Intern(&Attrs{MED: uint32(i), HasMED: true, ASPath: seq(65000 + uint32(i))}); got != sets[i] || got.refs != 2 {
			t.Fatalf("set %d interned again: %p (refs %d), want %p", i, got, got.refs, sets[i])
		}
		in.Release(sets[i])
	}
	// Release the middle one, then the first (chain head), then the last.
	for _, i := range []int{2, 3, 0} {
		in.Release(sets[i])
		for j, s := range sets {
			if s.refs == 0 {
				continue
			}
			got := in.Intern(&Attrs{MED: uint32(j), HasMED: true, ASPath: seq(65000 + uint32(j))})
			if got != s {
				t.Fatalf("after releasing set %d, set %d is not found", i, j)
			}
			in.Release(got)
		}
	}
	if in.Len() != 1 || in.m[7] != sets[1] || sets[1].next != nil {
		t.Errorf("Len() = %d, chain head %p (want %p alone)", in.Len(), in.m[7], sets[1])
	}
	in.Release(sets[1])
	if in.Len() != 0 || len(in.m) != 0 {
		t.Errorf("Len() = %d, %d hashes left, want none", in.Len(), len(in.m))
	}
	// A set released once too often does not disturb the table.
	a := in.Intern(&Attrs{MED: 1})
	b := in.Intern(&Attrs{MED: 2})
	in.Release(a)
	in.Release(a)
	if got := in.Intern(&Attrs{MED: 2}); got != b || in.Len() != 1 {
		t.Errorf("after a double release: got %p want %p, Len() = %d", got, b, in.Len())
	}
}

// InternOwned keeps a new set as it is given, and finds an equal one
// like Intern.
func TestInternOwned(t *testing.T) {
	in := NewInterner()
	a := &Attrs{ASPath: seq(65001, 65002), MED: 3, HasMED: true}
	s := in.InternOwned(a)
	if s != a || s.refs != 1 {
		t.Fatalf("InternOwned of a new set returned %p (refs %d), want %p", s, s.refs, a)
	}
	b := &Attrs{ASPath: seq(65001, 65002), MED: 3, HasMED: true}
	if got := in.InternOwned(b); got != a || a.refs != 2 {
		t.Errorf("an equal owned set: got %p (refs %d), want %p", got, a.refs, a)
	}
	if got := in.Intern(&Attrs{ASPath: seq(65001, 65002), MED: 3, HasMED: true}); got != a || in.Len() != 1 {
		t.Errorf("Intern after InternOwned: got %p, Len %d", got, in.Len())
	}
}
