package quorum

import (
	"fmt"
	"math/rand"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/rillmq/rill/engine/vfs"
)

func entry(term, index uint64, data string) *pb.Entry {
	return &pb.Entry{Term: proto.Uint64(term), Index: proto.Uint64(index), Type: pb.EntryNormal.Enum(), Data: []byte(data)}
}

func TestWALReplaysAndReplacesEntries(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/c", 0o755)
	w, r, err := OpenWAL(fs, "/c/wal")
	if err != nil || len(r.Entries) != 0 {
		t.Fatalf("fresh WAL: %v %+v", err, r)
	}
	hs := &pb.HardState{Term: proto.Uint64(2), Vote: proto.Uint64(1), Commit: proto.Uint64(2)}
	if err := w.Save(hs, []*pb.Entry{entry(1, 1, "a"), entry(1, 2, "b"), entry(1, 3, "c")}); err != nil {
		t.Fatal(err)
	}
	// A new leader overwrites index 3 onwards.
	if err := w.Save(nil, []*pb.Entry{entry(2, 3, "C"), entry(2, 4, "d")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, r, err = OpenWAL(fs, "/c/wal")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range r.Entries {
		got = append(got, fmt.Sprintf("%d/%d:%s", e.GetTerm(), e.GetIndex(), e.GetData()))
	}
	if fmt.Sprint(got) != "[1/1:a 1/2:b 2/3:C 2/4:d]" || r.HardState.GetTerm() != 2 || r.HardState.GetCommit() != 2 {
		t.Fatalf("replayed %v, hard state %v", got, r.HardState)
	}
}

// Whatever a crash leaves (any prefix of the file, garbage after it), the
// WAL opens with exactly the records Save returned for.
func TestWALSurvivesCrashesAndTornTails(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		fs := vfs.NewMemFS()
		fs.MkdirAll("/c", 0o755)
		w, _, err := OpenWAL(fs, "/c/wal")
		if err != nil {
			t.Fatal(err)
		}
		fs.SyncDir("/c")
		saved := 0
		for i := 1; i <= 1+rng.Intn(20); i++ {
			if err := w.Save(nil, []*pb.Entry{entry(1, uint64(i), fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
			saved = i
		}
		crashed := fs.CrashClone()
		f, _ := crashed.OpenFile("/c/wal", 2, 0)
		size, _ := f.Size()
		// Tear the tail: cut somewhere in the last record or add garbage.
		if rng.Intn(2) == 0 && size > 0 {
			f.Truncate(size - int64(1+rng.Intn(8)))
			saved--
		} else {
			f.WriteAt([]byte{0, 0, 0, 9, 1, 2, 3}, size)
		}
		f.Sync()
		f.Close()
		_, r, err := OpenWAL(crashed, "/c/wal")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Entries) != saved {
			t.Fatalf("trial %d: %d entries after the crash, want %d", trial, len(r.Entries), saved)
		}
		// And the cut file takes new records after the valid ones.
		w2, _, _ := OpenWAL(crashed, "/c/wal")
		if err := w2.Save(nil, []*pb.Entry{entry(1, uint64(saved+1), "x")}); err != nil {
			t.Fatal(err)
		}
		w2.Close()
		if _, r, _ = OpenWAL(crashed, "/c/wal"); len(r.Entries) != saved+1 {
			t.Fatalf("trial %d: append after recovery lost records: %d", trial, len(r.Entries))
		}
	}
}

// SaveSnapshot rewrites the WAL as the snapshot, the entries after it and
// the hard state; a crash at any point of the rewrite leaves the old file
// or the new one whole, and later saves append to the new one.
func TestWALSnapshotRewrite(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/c", 0o755)
	w, _, err := OpenWAL(fs, "/c/wal")
	if err != nil {
		t.Fatal(err)
	}
	fs.SyncDir("/c")
	hs := &pb.HardState{Term: proto.Uint64(1), Vote: proto.Uint64(1), Commit: proto.Uint64(5)}
	var es []*pb.Entry
	for i := uint64(1); i <= 6; i++ {
		es = append(es, entry(1, i, fmt.Sprint(i)))
	}
	if err := w.Save(hs, es); err != nil {
		t.Fatal(err)
	}
	before := fs.CrashClone()
	snap := &pb.Snapshot{Data: []byte("state@4"), Metadata: &pb.SnapshotMetadata{Index: proto.Uint64(4), Term: proto.Uint64(1),
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}
	if err := w.SaveSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if err := w.Save(nil, []*pb.Entry{entry(1, 7, "7")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for name, f := range map[string]vfs.FS{"before the rewrite": before, "after": fs.CrashClone()} {
		_, r, err := OpenWAL(f, "/c/wal")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range r.Entries {
			got = append(got, string(e.GetData()))
		}
		switch name {
		case "before the rewrite":
			if r.Snapshot != nil || fmt.Sprint(got) != "[1 2 3 4 5 6]" {
				t.Fatalf("%s: snapshot %v, entries %v", name, r.Snapshot, got)
			}
		default:
			if string(r.Snapshot.GetData()) != "state@4" || r.Snapshot.GetMetadata().GetIndex() != 4 || fmt.Sprint(got) != "[5 6 7]" ||
				r.HardState.GetCommit() != 5 {
				t.Fatalf("%s: snapshot %v, entries %v, hard state %v", name, r.Snapshot, got, r.HardState)
			}
		}
	}
}
