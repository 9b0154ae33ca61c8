package replica

import (
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
)

// FuzzFollowerApply hands a follower arbitrary answers from its leader
// (record data, high watermark, diverging epoch, error code): it must
// never panic, and its log must stay a valid log: batches that parse,
// offsets that run on without overlap, a high watermark within it.
func FuzzFollowerApply(f *testing.F) {
	good := func(base int64, epoch int32) []byte {
		b, _ := format.BuildBatch(format.BatchHeader{BaseOffset: base, LeaderEpoch: epoch, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
			[]format.Record{{Value: []byte("v")}, {OffsetDelta: 1, Value: []byte("w")}})
		return b
	}
	f.Add(good(4, 3), int64(6), int32(-1), int64(-1), int16(0))
	f.Add(append(good(4, 3), good(6, 3)[:20]...), int64(5), int32(-1), int64(-1), int16(0))
	f.Add([]byte{}, int64(2), int32(1), int64(2), int16(0))
	f.Add([]byte{}, int64(0), int32(-1), int64(0), int16(0))
	f.Add([]byte{}, int64(0), int32(-1), int64(-1), int16(1)) // OFFSET_OUT_OF_RANGE
	f.Add(good(9, 3), int64(11), int32(-1), int64(-1), int16(0))
	f.Fuzz(func(t *testing.T, data []byte, hw int64, divEpoch int32, divEnd int64, code int16) {
		l, err := log.Open(log.Options{FS: vfs.NewMemFS(), Dir: "/f/t-0", Config: log.DefaultConfig(), Clock: func() int64 { return time.Now().UnixMilli() }})
		if err != nil {
			t.Fatal(err)
		}
		for epoch := int32(1); epoch <= 2; epoch++ { // offsets 0-3, epochs 1 and 2
			if _, err := l.Append(good(0, 0), log.AppendOptions{AssignOffsets: true, LeaderEpoch: epoch}); err != nil {
				t.Fatal(err)
			}
		}
		m := &Manager{cfg: Config{Self: 2, Logger: slog.New(slog.DiscardHandler)}}
		p := newPartition(m, tp, l)
		p.state = State{Leader: 1, LeaderEpoch: 3}
		pos, ok := p.position(1)
		if !ok {
			t.Fatal("not following")
		}
		r := kmsg.NewFetchResponseTopicPartition()
		r.RecordBatches, r.HighWatermark, r.ErrorCode = data, hw, code
		r.DivergingEpoch.Epoch, r.DivergingEpoch.EndOffset = divEpoch, divEnd
		r.LogStartOffset = hw / 2
		p.applyFetched(pos, &r)
		leo := l.LogEndOffset()
		if p.hw > leo || p.hw < 0 || l.LogStartOffset() > leo {
			t.Fatalf("hw %d, log [%d, %d)", p.hw, l.LogStartOffset(), leo)
		}
		next := l.LogStartOffset()
		for next < leo {
			fr, err := l.Read(next, 1<<20, -1, true)
			if err != nil || fr.Len == 0 {
				t.Fatalf("read at %d of [%d, %d): %v", next, l.LogStartOffset(), leo, err)
			}
			buf := make([]byte, fr.Len)
			fr.File.ReadAt(buf, fr.Pos)
			for len(buf) > 0 {
				b, err := format.Parse(buf)
				if err != nil {
					t.Fatalf("stored batch at %d does not parse: %v", next, err)
				}
				if b.BaseOffset() > next && next != l.LogStartOffset() {
					t.Fatalf("gap before %d (expected %d)", b.BaseOffset(), next)
				}
				next = max(next, b.NextOffset())
				buf = buf[len(b):]
			}
		}
	})
}
