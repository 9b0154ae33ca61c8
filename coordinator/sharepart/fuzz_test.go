package sharepart

import (
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzPartition drives a Partition and the per-offset model with the
// operations the input bytes choose (acquisitions over a log with gaps and
// compaction, in both acquire modes; acknowledgements, valid or not;
// member releases, expiries, start offset moves, configuration changes,
// Persisted → New round trips) and fails at the first difference between
// them or broken invariant.
func FuzzPartition(f *testing.F) {
	for seed := range 8 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		b := make([]byte, 64+seed*128)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		drive(t, &byteSource{b: data}, 3000, false)
	})
}

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
