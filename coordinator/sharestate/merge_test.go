package sharestate

import (
	"math/rand"
	"reflect"
	"testing"
	"time"
)

func t0() time.Time { return time.Unix(1700000000, 0) }

func TestMerge(t *testing.T) {
	for _, c := range []struct {
		name          string
		stored, added []Batch
		start         int64
		want          []Batch
	}{
		{"empty", nil, nil, -1, nil},
		{"new only", nil, []Batch{{0, 9, 0, 1}}, 0, []Batch{{0, 9, 0, 1}}},
		{"contiguous same coalesce", []Batch{{0, 4, 0, 1}}, []Batch{{5, 9, 0, 1}}, -1, []Batch{{0, 9, 0, 1}}},
		{"contiguous differ", []Batch{{0, 4, 0, 1}}, []Batch{{5, 9, 2, 1}}, -1, []Batch{{0, 4, 0, 1}, {5, 9, 2, 1}}},
		{"acked inside", []Batch{{0, 9, 0, 1}}, []Batch{{3, 5, 2, 1}}, -1, []Batch{{0, 2, 0, 1}, {3, 5, 2, 1}, {6, 9, 0, 1}}},
		{"higher count wins", []Batch{{0, 9, 0, 2}}, []Batch{{0, 9, 0, 3}}, -1, []Batch{{0, 9, 0, 3}}},
		// Kafka's combiner keeps the higher-ranking state where a lower
		// one arrives later.
		{"lower rank loses", []Batch{{0, 9, 2, 1}}, []Batch{{3, 5, 0, 1}}, -1, []Batch{{0, 9, 2, 1}}},
		{"archived over acked", []Batch{{0, 9, 2, 1}}, []Batch{{0, 9, 4, 1}}, -1, []Batch{{0, 9, 4, 1}}},
		{"start prunes", []Batch{{0, 4, 2, 1}, {5, 9, 0, 1}}, []Batch{{10, 12, 0, 1}}, 7, []Batch{{7, 12, 0, 1}}},
		{"start beyond", []Batch{{0, 4, 2, 1}}, nil, 5, nil},
		{"overlapping new", nil, []Batch{{0, 5, 0, 1}, {3, 8, 0, 1}, {4, 4, 4, 2}}, -1, []Batch{{0, 3, 0, 1}, {4, 4, 4, 2}, {5, 8, 0, 1}}},
		{"gap kept", []Batch{{0, 1, 0, 1}}, []Batch{{5, 6, 0, 1}}, -1, []Batch{{0, 1, 0, 1}, {5, 6, 0, 1}}},
	} {
		if got := Merge(c.stored, c.added, c.start); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMergeModel checks Merge against a per-offset model of Kafka's
// combiner on random batches.
func TestMergeModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	rand := func(n int) []Batch {
		var out []Batch
		for range rng.Intn(n) {
			f := int64(rng.Intn(40))
			out = append(out, Batch{First: f, Last: f + int64(rng.Intn(10)), State: []int8{0, 2, 4}[rng.Intn(3)], DeliveryCount: int16(rng.Intn(3))})
		}
		return out
	}
	for i := range 5000 {
		stored, added := rand(5), rand(5)
		start := int64(rng.Intn(50)) - 5
		if start < 0 {
			start = -1
		}
		got := Merge(stored, added, start)
		// The model: the best batch per offset.
		best := map[int64]Batch{}
		for _, b := range append(append([]Batch(nil), stored...), added...) {
			for o := b.First; o <= b.Last; o++ {
				if start >= 0 && o < start {
					continue
				}
				if cur, ok := best[o]; !ok || outranks(b, cur) {
					best[o] = b
				}
			}
		}
		seen := map[int64]bool{}
		for j, b := range got {
			if j > 0 && (b.First <= got[j-1].Last || b.First == got[j-1].Last+1 && sameInfo(b, got[j-1])) {
				t.Fatalf("case %d: not sorted, disjoint and coalesced: %v", i, got)
			}
			for o := b.First; o <= b.Last; o++ {
				w, ok := best[o]
				if !ok || !sameInfo(w, b) {
					t.Fatalf("case %d: offset %d is %v, want %v (stored %v added %v start %d: %v)", i, o, b, w, stored, added, start, got)
				}
				seen[o] = true
			}
		}
		if len(seen) != len(best) {
			t.Fatalf("case %d: covers %d offsets, want %d", i, len(seen), len(best))
		}
	}
}
