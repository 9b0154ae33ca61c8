package engine

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/logging/logtest"
)

// When recovery cuts a segment's tail it logs one line naming the
// partition, the segment file, the byte position of the cut, the bytes
// dropped and why: a torn last batch or a CRC mismatch.
func TestRecoveryLogsTheCut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(f vfs.File, size int64) error
		dropped func(size, lastPos int64) int64
		reason  string
	}{
		{
			name: "torn",
			// A write the crash interrupted: the file ends 5 bytes short
			// of the last batch's end.
			damage:  func(f vfs.File, size int64) error { return f.Truncate(size - 5) },
			dropped: func(size, lastPos int64) int64 { return size - 5 - lastPos },
			reason:  "torn or short batch",
		},
		{
			name: "crc",
			// Flip the last byte: inside the records, under the CRC.
			damage: func(f vfs.File, size int64) error {
				b := []byte{0}
				if _, err := f.ReadAt(b, size-1); err != nil {
					return err
				}
				b[0] ^= 0xff
				_, err := f.WriteAt(b, size-1)
				return err
			},
			dropped: func(size, lastPos int64) int64 { return size - lastPos },
			reason:  "CRC mismatch",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(vfs.Default, "pwrite")
			cfg.DataDir = t.TempDir()
			e, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tp := kafka.TopicPartition{Topic: "orders", Partition: 3}
			l, err := e.CreatePartition(tp, cfg.Log)
			if err != nil {
				t.Fatal(err)
			}
			produce(t, l, 40, "r")
			segs := l.Segments()
			active := segs[len(segs)-1]
			var lastPos int64 = -1
			active.ForEachBatch(0, func(pos int64, _ format.Batch) error {
				lastPos = pos
				return nil
			})
			if lastPos <= 0 {
				t.Fatalf("active segment has no second batch (last at %d)", lastPos)
			}
			logPath, _, _ := segment.Paths(l.Dir(), active.BaseOffset())
			leo := l.LogEndOffset()
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}

			// Damage the tail and make the next open recover.
			removeMarkerAndCheckpoint(t, cfg.DataDir)
			f, err := vfs.Default.OpenFile(logPath, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			size, _ := f.Size()
			if err := tc.damage(f, size); err != nil {
				t.Fatal(err)
			}
			f.Close()

			var logs *logtest.Recorder
			cfg.Logger, logs = logtest.New(t)
			e, err = Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if l, _ := e.Partition(tp); l.LogEndOffset() != leo-1 {
				t.Fatalf("LEO %d after recovery, want %d (the last batch cut)", l.LogEndOffset(), leo-1)
			}
			got := logs.Containing("recovery")
			if len(got) != 1 {
				t.Fatalf("want one recovery line, got %q", got)
			}
			for _, want := range []string{
				"level=WARN",
				"partition=orders-3 ",
				"segment=" + logPath + " ",
				fmt.Sprintf("position=%d ", lastPos),
				fmt.Sprintf("dropped_bytes=%d ", tc.dropped(size, lastPos)),
				tc.reason,
			} {
				if !strings.Contains(got[0], want) {
					t.Errorf("recovery line %q lacks %q", got[0], want)
				}
			}
			t.Log(got[0])
		})
	}
}
