package fuzz

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
)

// txnLog writes a log of three segments where producers 1 and 2 run
// overlapping transactions, some aborted, and closes it cleanly. It returns
// the file system, the segment bases and what AbortedTransactions answered.
func txnLog(t *testing.T) (*vfs.MemFS, []int64, []log.AbortedTxn) {
	fs := vfs.NewMemFS()
	cfg := log.DefaultConfig()
	cfg.FileDeleteDelayMs = 0
	l, err := log.Open(log.Options{FS: fs, Dir: "/d", Config: cfg, Clock: func() int64 { return 1e12 }})
	if err != nil {
		t.Fatal(err)
	}
	seq := map[int64]int32{}
	app := func(b []byte) {
		if _, err := l.Append(b, log.AppendOptions{AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
	}
	data := func(pid int64) {
		b, _ := format.BuildBatch(format.BatchHeader{Attributes: format.AttrTransactional, ProducerID: pid,
			BaseSequence: seq[pid]}, []format.Record{{Value: []byte("v")}, {OffsetDelta: 1, Value: []byte("w")}})
		seq[pid] += 2
		app(b)
	}
	for seg := 0; seg < 3; seg++ {
		for round := 0; round < 4; round++ {
			data(1)
			data(2)
			app(format.ControlBatch(1, 0, round%2 == 0, 0, 1))
			data(1)
			app(format.ControlBatch(2, 0, round%3 == 0, 0, 1))
			app(format.ControlBatch(1, 0, false, 0, 1))
		}
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
	}
	var bases []int64
	for _, s := range l.Segments() {
		bases = append(bases, s.BaseOffset())
	}
	all := l.AbortedTransactions(0, l.LogEndOffset())
	if err := l.Close(true); err != nil {
		t.Fatal(err)
	}
	return fs, bases, all
}

// FuzzTxnIndex replaces one segment's transaction index with arbitrary
// bytes (optionally followed by a torn copy of a real entry) and opens the
// log. Opening must not fail or panic; every aborted transaction it then
// reports must be well formed (its marker inside the log, its first offset
// at or before it, a last stable offset no later than the marker's next
// offset) and in first offset order; the other segments' entries must all
// still be there. Recovery (an unclean open) must rebuild exactly the
// original entries whatever the file held.
func FuzzTxnIndex(f *testing.F) {
	f.Add(uint8(0), []byte{}, uint8(0))
	f.Add(uint8(1), make([]byte, 34), uint8(20))
	entry := make([]byte, format.TxnEntrySize)
	format.PutTxnEntry(entry, format.TxnEntry{ProducerID: 1, FirstOffset: 0, LastOffset: 4, LastStable: 5})
	f.Add(uint8(0), entry, uint8(33))
	f.Add(uint8(2), append(entry, entry...), uint8(0))
	f.Fuzz(func(t *testing.T, target uint8, garbage []byte, torn uint8) {
		fs, bases, all := txnLog(t)
		victim := bases[int(target)%(len(bases)-1)] // a closed segment
		path := filepath.Join("/d", format.FileName(victim, format.TxnIndexSuffix))
		orig, err := vfs.ReadFile(fs, path)
		if err != nil {
			t.Fatal(err)
		}
		content := append([]byte(nil), garbage...)
		if n := int(torn) % format.TxnEntrySize; n > 0 && len(orig) >= format.TxnEntrySize {
			content = append(content, orig[:n]...)
		}
		fl, err := fs.OpenFile(path, os.O_RDWR|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fl.WriteAt(content, 0)
		fl.Sync()
		fl.Close()

		cfg := log.DefaultConfig()
		open := func(recover bool) *log.Log {
			l, err := log.Open(log.Options{FS: fs, Dir: "/d", Config: cfg, Clock: func() int64 { return 1e12 }, NeedsRecovery: recover})
			if err != nil {
				t.Fatalf("open (recovery %v): %v", recover, err)
			}
			return l
		}
		l := open(false)
		leo := l.LogEndOffset()
		got := l.AbortedTransactions(0, leo+1)
		for i, a := range got {
			if a.ProducerID < 0 || a.FirstOffset < 0 || a.FirstOffset > a.LastOffset || a.LastOffset >= leo ||
				a.LastStableOffset < 0 || a.LastStableOffset > a.LastOffset+1 {
				t.Fatalf("ill-formed entry %+v (log end %d)", a, leo)
			}
			if i > 0 && got[i-1].FirstOffset > a.FirstOffset {
				t.Fatalf("out of order: %+v", got)
			}
		}
		have := map[log.AbortedTxn]bool{}
		for _, a := range got {
			have[a] = true
		}
		victimEnd := bases[int(target)%(len(bases)-1)+1]
		for _, a := range all {
			if (a.LastOffset < victim || a.LastOffset >= victimEnd) && !have[a] {
				t.Fatalf("lost %+v of an untouched segment", a)
			}
		}
		// Appends keep working on top.
		if _, err := l.Append(format.ControlBatch(1, 0, false, 0, 1), log.AppendOptions{AssignOffsets: true}); err != nil {
			t.Fatal(err)
		}
		l.Close(false)

		l = open(true)
		defer l.Close(false)
		if got := l.AbortedTransactions(0, leo); !reflect.DeepEqual(got, all) {
			t.Fatalf("after recovery:\n%+v\nwant\n%+v", got, all)
		}
	})
}
