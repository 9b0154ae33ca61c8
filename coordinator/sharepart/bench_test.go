package sharepart

import (
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkAcquireAcknowledge(b *testing.B) {
	for _, bc := range []struct {
		name    string
		records int64
		perRec  bool
	}{{"batch100", 100, false}, {"batch100-per-record-types", 100, true}, {"batch1", 1, false}} {
		b.Run(bc.name, func(b *testing.B) {
			p := New(Config{}, Persisted{})
			now := time.Unix(1_700_000_000, 0)
			types := []AckType{AckAccept}
			if bc.perRec {
				types = make([]AckType, bc.records)
				for i := range types {
					types[i] = AckType(1 + i%2*2) // accept, reject
				}
			}
			batch := []LogBatch{{}}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now = now.Add(time.Millisecond)
				first := int64(i) * bc.records
				batch[0] = LogBatch{First: first, Last: first + bc.records - 1}
				if got := p.Acquire("member", batch, 500, false, now); len(got) != 1 {
					b.Fatalf("acquired %v", got)
				}
				if err := p.Acknowledge("member", first, first+bc.records-1, types, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAcquireAcknowledgeBehind keeps a window of 2000 records in
// flight (20 batches of 100) and acknowledges the oldest batch after each
// acquisition, as consumers processing in parallel do.
func BenchmarkAcquireAcknowledgeBehind(b *testing.B) {
	p := New(Config{}, Persisted{})
	now := time.Unix(1_700_000_000, 0)
	types := []AckType{AckAccept}
	batch := []LogBatch{{}}
	const n = 100
	for i := range 19 {
		batch[0] = LogBatch{First: int64(i) * n, Last: int64(i)*n + n - 1}
		p.Acquire("member", batch, 500, false, now)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Millisecond) // every batch its own deadline
		first := int64(i+19) * n
		batch[0] = LogBatch{First: first, Last: first + n - 1}
		if got := p.Acquire("member", batch, 500, false, now); len(got) != 1 {
			b.Fatalf("acquired %v (%s)", got, p)
		}
		if err := p.Acknowledge("member", int64(i)*n, int64(i)*n+n-1, types, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcknowledgeScattered is the worst case of the run
// representation: a 100k-record window of 1000 runs (batches of 100
// alternating between two members) acknowledged one record at a time in
// random order, each acknowledgement splitting a run, so every call moves
// the runs after it.
func BenchmarkAcknowledgeScattered(b *testing.B) {
	const n, size = 100_000, 100
	now := time.Unix(1_700_000_000, 0)
	r := rand.New(rand.NewPCG(1, 2))
	var p *Partition
	var order []int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(order) == 0 {
			b.StopTimer()
			p = New(Config{MaxInFlight: n}, Persisted{})
			for o := int64(0); o < n; o += size {
				p.Acquire([]string{"m", "n"}[o/size%2], []LogBatch{{First: o, Last: o + size - 1}}, size, false, now)
			}
			order = order[:0]
			for o := int64(0); o < n; o++ {
				if o/size%2 == 0 {
					order = append(order, o)
				}
			}
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			b.StartTimer()
		}
		o := order[len(order)-1]
		order = order[:len(order)-1]
		if err := p.Acknowledge("m", o, o, []AckType{AckType(1 + o%3)}, now); err != nil {
			b.Fatal(err)
		}
	}
}
