package fuzz

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/replication/quorum"
)

// FuzzWAL opens arbitrary bytes as the controller's raft WAL (the recovery
// path after a crash or a damaged disk): it must not panic, must keep only
// a valid prefix, and what it keeps must reopen identically and accept new
// records after it.
func FuzzWAL(f *testing.F) {
	seed := vfs.NewMemFS()
	seed.MkdirAll("/w", 0o755)
	w, _, _ := quorum.OpenWAL(seed, "/w/wal")
	w.Save(&pb.HardState{Term: proto.Uint64(3), Vote: proto.Uint64(2), Commit: proto.Uint64(1)},
		[]*pb.Entry{{Term: proto.Uint64(3), Index: proto.Uint64(1), Data: []byte("a")}, {Term: proto.Uint64(3), Index: proto.Uint64(2), Data: []byte("b")}})
	w.Save(nil, []*pb.Entry{{Term: proto.Uint64(4), Index: proto.Uint64(2), Data: []byte("B")}})
	file, _ := seed.OpenFile("/w/wal", 0, 0)
	size, _ := file.Size()
	buf := make([]byte, size)
	file.ReadAt(buf, 0)
	f.Add(buf)
	f.Add(buf[:len(buf)-3])
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := vfs.NewMemFS()
		fs.MkdirAll("/w", 0o755)
		wf, _ := vfs.Create(fs, "/w/wal")
		wf.WriteAt(data, 0)
		wf.Close()
		w, first, err := quorum.OpenWAL(fs, "/w/wal")
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		w, again, err := quorum.OpenWAL(fs, "/w/wal")
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Entries) != len(first.Entries) {
			t.Fatalf("reopening changed %d entries to %d", len(first.Entries), len(again.Entries))
		}
		next := uint64(1)
		if n := len(again.Entries); n > 0 {
			next = again.Entries[n-1].GetIndex() + 1
		}
		if err := w.Save(nil, []*pb.Entry{{Term: proto.Uint64(9), Index: proto.Uint64(next), Data: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		_, after, err := quorum.OpenWAL(fs, "/w/wal")
		if err != nil || len(after.Entries) == 0 || after.Entries[len(after.Entries)-1].GetIndex() != next {
			t.Fatalf("append after recovery: %v %d entries", err, len(after.Entries))
		}
	})
}
