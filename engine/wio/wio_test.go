package wio

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/engine/vfs/errorfs"
)

func engines(t *testing.T) []Engine {
	var out []Engine
	out = append(out, pwriteEngine{})
	if e, err := newUring(); err == nil {
		out = append(out, e)
	} else {
		t.Logf("io_uring unavailable here: %v", err)
	}
	return out
}

func TestRunWritesAndSyncs(t *testing.T) {
	for _, eng := range engines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			defer eng.Close()
			dir := t.TempDir()
			var ops []*Op
			var files []vfs.File
			for i := 0; i < 8; i++ {
				f, err := vfs.Create(vfs.Default, fmt.Sprintf("%s/f%d", dir, i))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				files = append(files, f)
				for j := 0; j < 3; j++ {
					ops = append(ops, &Op{File: f, Data: bytes.Repeat([]byte{byte('a' + j)}, 4096), Off: int64(j * 4096), Sync: j == 2})
				}
			}
			eng.Run(ops)
			for _, op := range ops {
				if op.Err != nil {
					t.Fatal(op.Err)
				}
			}
			for _, f := range files {
				buf := make([]byte, 3*4096)
				if _, err := f.ReadAt(buf, 0); err != nil {
					t.Fatal(err)
				}
				for j := 0; j < 3; j++ {
					if buf[j*4096] != byte('a'+j) || buf[j*4096+4095] != byte('a'+j) {
						t.Fatalf("%s: block %d wrong", f.Name(), j)
					}
				}
			}
		})
	}
}

func TestRunReportsErrors(t *testing.T) {
	for _, eng := range engines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			defer eng.Close()
			// A read-only descriptor fails writes with EBADF in the kernel.
			path := t.TempDir() + "/ro"
			f, _ := vfs.Create(vfs.Default, path)
			f.Close()
			ro, err := vfs.Open(vfs.Default, path)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			ops := []*Op{{File: ro, Data: []byte("x"), Sync: true}, {File: ro, Data: []byte("y"), Off: 1, Sync: true}}
			eng.Run(ops)
			for i, op := range ops {
				if op.Err == nil {
					t.Fatalf("op %d: write to a read-only fd succeeded", i)
				}
			}
		})
	}
	// The portable path on an injected sync failure.
	var fail atomic.Bool
	fail.Store(true)
	efs := &errorfs.FS{Inner: vfs.NewMemFS(), Inject: errorfs.OnOp(errorfs.OpSync, "", &fail)}
	f, _ := vfs.Create(efs, "/x")
	op := &Op{File: f, Data: []byte("z"), Sync: true}
	pwriteEngine{}.Run([]*Op{op})
	if !errors.Is(op.Err, errorfs.ErrInjected) {
		t.Fatalf("got %v", op.Err)
	}
}

func TestGroupCommitterBatches(t *testing.T) {
	for _, eng := range engines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			g := NewGroupCommitter(eng)
			defer eng.Close()
			dir := t.TempDir()
			var files []vfs.File
			for i := 0; i < 16; i++ {
				f, _ := vfs.Create(vfs.Default, fmt.Sprintf("%s/f%d", dir, i))
				defer f.Close()
				files = append(files, f)
			}
			var wg sync.WaitGroup
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 20; i++ {
						files[w].WriteAt([]byte("data"), int64(i*4))
						if err := g.Sync([]vfs.File{files[w], files[(w+1)%16]}); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			rounds, reqs := g.Stats()
			if reqs != 320 || rounds == 0 || rounds > reqs {
				t.Fatalf("rounds %d requests %d", rounds, reqs)
			}
			t.Logf("%s: %d requests in %d rounds", eng.Name(), reqs, rounds)
		})
	}
}
