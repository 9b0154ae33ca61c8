package sharepart

import (
	"math/rand/v2"
	"testing"
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
