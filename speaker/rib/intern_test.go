package rib

import (
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

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
	sh := in.shard(7)
	if in.Len() != 1 || sh.m[7] != sets[1] || sets[1].next != nil {
		t.Errorf("Len() = %d, chain head %p (want %p alone)", in.Len(), sh.m[7], sets[1])
	}
	in.Release(sets[1])
	if in.Len() != 0 || len(sh.m) != 0 {
		t.Errorf("Len() = %d, %d hashes left, want none", in.Len(), len(sh.m))
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

// The speakers of a process share one Interner: goroutines interning,
// retaining and releasing equal and different sets at once always get
// the one set of a key while any holds it, and leave nothing behind.
func TestInternerConcurrent(t *testing.T) {
	in := NewInterner()
	const workers, rounds, keys = 8, 2000, 16
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held := make([]*Attrs, keys)
			for i := range rounds {
				k := (i*7 + w) % keys
				s := in.Intern(&Attrs{ASPath: seq(65000, uint32(k)), MED: uint32(k), HasMED: true})
				if s.MED != uint32(k) || s.ASPath[0].ASNs[1] != uint32(k) {
					errs <- fmt.Sprintf("key %d interned as %+v", k, s)
					return
				}
				if held[k] != nil && held[k] != s {
					errs <- fmt.Sprintf("key %d: two sets held at once (%p, %p)", k, held[k], s)
					return
				}
				if held[k] == nil {
					held[k] = in.Retain(s)
				}
				in.Release(s)
				if i%3 == 0 {
					in.Release(held[k])
					held[k] = nil
				}
			}
			for _, s := range held {
				in.Release(s)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if in.Len() != 0 {
		t.Errorf("Len() = %d after every set was released, want 0", in.Len())
	}
	for i := range in.shards {
		if n := len(in.shards[i].m); n != 0 {
			t.Errorf("shard %d holds %d hashes", i, n)
		}
	}
}

// Copy carries every attribute (a field added to Attrs and forgotten in
// Copy would be lost on export), and none of the interning state.
func TestAttrsCopy(t *testing.T) {
	var a Attrs
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8, reflect.Uint32:
			f.SetUint(uint64(i + 1))
		case reflect.String:
			f.SetString("x")
		case reflect.Slice, reflect.Struct, reflect.Pointer:
		default:
			t.Fatalf("field %s: kind %v not handled by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	a.ASPath = seq(1, 2)
	a.Ext = &Ext{Communities: []uint32{3}, LargeCommunities: []LargeCommunity{{1, 2, 3}},
		OriginatorID: netip.MustParseAddr("10.0.0.1"), ClusterList: []uint32{4}, Other: "x"}
	s := NewInterner().Intern(&a)
	c := s.Copy()
	if diff := cmp.Diff(a, c, cmpopts.IgnoreUnexported(Attrs{}), cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("Copy (-want +got):\n%s", diff)
	}
	if c.Ext != s.Ext {
		t.Error("Copy did not share the interned set's Ext")
	}
	// The interned set's Ext is a deep copy: the caller's may change.
	a.Ext.Communities[0] = 9
	if s.Extra().Communities[0] != 3 {
		t.Error("the interned set shares the caller's Ext")
	}
	// An empty Ext is no Ext.
	e := NewInterner()
	if x, y := e.Intern(&Attrs{MED: 1, Ext: &Ext{Communities: []uint32{}}}), e.Intern(&Attrs{MED: 1}); x != y || x.Ext != nil {
		t.Errorf("a set with an empty Ext is another set (%p, %p) or keeps it (%v)", x, y, x.Ext)
	}
	if c.refs != 0 || c.linked || c.next != nil || c.hash != 0 {
		t.Errorf("Copy kept the interning state: refs %d linked %v", c.refs, c.linked)
	}
}
