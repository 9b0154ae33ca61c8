package log

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// TestRandomOpsAgainstModel runs random sequences of appends, rolls,
// truncations, DeleteRecords, flushes, clean reopens and crashes on a log
// and checks it against a model: a slice of values by offset plus the log
// start offset. After a crash the log must hold at least everything flushed
// and otherwise a prefix of what the model appended.
func TestRandomOpsAgainstModel(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 5
	}
	if n, err := strconv.Atoi(os.Getenv("RILL_MODEL_SEEDS")); err == nil {
		seeds = n // make stress: many more seeds
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, uint64(seed), 300) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	mem := vfs.NewMemFS()
	e := newEnv(t, mem)
	e.cfg.SegmentBytes = int64(512 + rng.IntN(4096))
	e.cfg.IndexIntervalBytes = rng.IntN(512)
	codecs := []format.Codec{format.CodecNone, format.CodecGzip, format.CodecSnappy, format.CodecLZ4, format.CodecZstd}
	var model []string // model[offset] = value
	var lso, durable int64
	l := e.open(false, 0, 0)
	defer func() { l.Close(false) }()
	check := func(op string) {
		t.Helper()
		if l.LogEndOffset() != int64(len(model)) || l.LogStartOffset() != lso {
			t.Fatalf("after %s: log [%d,%d) model [%d,%d)", op, l.LogStartOffset(), l.LogEndOffset(), lso, len(model))
		}
	}
	verify := func(from int64) {
		t.Helper()
		got := readAll(t, l, from)
		for o := from; o < int64(len(model)); o++ {
			if got[o] != model[o] {
				t.Fatalf("offset %d: log %q model %q", o, got[o], model[o])
			}
		}
	}
	for step := 0; step < steps; step++ {
		switch p := rng.IntN(100); {
		case p < 55: // append a batch
			n := 1 + rng.IntN(8)
			vals := make([][]byte, n)
			for i := range vals {
				vals[i] = []byte(fmt.Sprintf("s%d-o%d-%x", step, len(model)+i, rng.Uint32()))
			}
			b := format.SimpleBatch(codecs[rng.IntN(len(codecs))], e.clock.now, nil, vals)
			res, err := l.Append(b, AppendOptions{AssignOffsets: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.BaseOffset != int64(len(model)) {
				t.Fatalf("assigned %d, want %d", res.BaseOffset, len(model))
			}
			for _, v := range vals {
				model = append(model, string(v))
			}
		case p < 62:
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
		case p < 68: // truncate (batches are never split)
			if int64(len(model)) == lso {
				continue
			}
			to := lso + rng.Int64N(int64(len(model))-lso+1)
			if err := l.TruncateTo(to); err != nil {
				t.Fatal(err)
			}
			leo := l.LogEndOffset()
			if leo > to || leo < to-8 {
				t.Fatalf("truncate to %d left LEO %d", to, leo)
			}
			model = model[:leo]
			lso = min(lso, leo)
			durable = min(durable, leo)
		case p < 72: // DeleteRecords
			to := lso + rng.Int64N(int64(len(model))-lso+1)
			got, err := l.DeleteRecords(to)
			if err != nil || got != to {
				t.Fatalf("delete records to %d: %d %v", to, got, err)
			}
			lso = to
		case p < 76: // size retention: drops whole segments from the front
			cfg := l.Config()
			cfg.RetentionBytes = int64(rng.IntN(8192))
			l.SetConfig(cfg)
			if _, _, err := l.ApplyRetention(e.clock.now, l.LogEndOffset()); err != nil {
				t.Fatal(err)
			}
			cfg.RetentionBytes = -1
			l.SetConfig(cfg)
			if got := l.LogStartOffset(); got < lso {
				t.Fatalf("retention moved the log start back: %d < %d", got, lso)
			}
			lso = l.LogStartOffset()
			if segs := l.Segments(); segs[0].BaseOffset() > lso {
				t.Fatalf("log start %d below the first segment %d", lso, segs[0].BaseOffset())
			}
		case p < 80:
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			durable = int64(len(model))
		case p < 85: // clean reopen
			if err := l.Close(true); err != nil {
				t.Fatal(err)
			}
			l = e.open(false, 0, lso)
			durable = int64(len(model))
		case p < 92: // crash and recover
			rp := l.RecoveryPoint()
			e.fs = mem.CrashClone()
			l.Close(false)
			mem = e.fs.(*vfs.MemFS)
			l = e.open(true, rp, lso)
			leo := l.LogEndOffset()
			if leo < durable {
				t.Fatalf("crash lost flushed data: LEO %d < durable %d", leo, durable)
			}
			if leo > int64(len(model)) {
				t.Fatalf("crash invented data: LEO %d > %d", leo, len(model))
			}
			model = model[:leo]
			if lso > leo {
				lso = leo
			}
			durable = leo
		default: // random point read
			if int64(len(model)) > lso {
				verify(lso + rng.Int64N(int64(len(model))-lso))
			}
		}
		check(fmt.Sprintf("step %d", step))
	}
	verify(lso)
}
