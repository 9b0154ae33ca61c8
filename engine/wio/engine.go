package wio

import (
	"fmt"
	"io"
	"sync"

	"github.com/rillmq/rill/engine/vfs"
)

// Op is one unit of work: write Data at Off (when Data is non-nil) and,
// with Sync, make the file durable afterwards. Err is set by Run.
type Op struct {
	File vfs.File
	Data []byte
	Off  int64
	Sync bool
	Err  error
}

// Engine runs ops. Ops on one file run in the order given; ops on different
// files overlap.
type Engine interface {
	Name() string
	Run(ops []*Op)
	Close() error
}

// New returns the engine named by io_engine: "uring", "pwrite" or "auto".
func New(name string) (Engine, error) {
	switch name {
	case "pwrite":
		return pwriteEngine{}, nil
	case "uring":
		return newUring()
	case "auto", "":
		if e, err := newUring(); err == nil {
			return e, nil
		}
		return pwriteEngine{}, nil
	}
	return nil, fmt.Errorf("wio: unknown io_engine %q (want auto, uring or pwrite)", name)
}

// chain is a file's ops, in order.
type chain struct {
	file vfs.File
	ops  []*Op
}

// groupByFile keeps first-seen file order and per-file op order.
func groupByFile(ops []*Op) []*chain {
	byFile := map[vfs.File]*chain{}
	var chains []*chain
	for _, op := range ops {
		c := byFile[op.File]
		if c == nil {
			c = &chain{file: op.File}
			byFile[op.File] = c
			chains = append(chains, c)
		}
		c.ops = append(c.ops, op)
	}
	return chains
}

// runPortable runs one file's chain with WriteAt and Sync: a failed write
// fails every later op of the chain, as a broken io_uring link does.
func runPortable(c *chain) {
	var failed error
	syncWanted := false
	for _, op := range c.ops {
		if failed != nil {
			op.Err = failed
			continue
		}
		if op.Data != nil {
			n, err := op.File.WriteAt(op.Data, op.Off)
			if err == nil && n < len(op.Data) {
				err = io.ErrShortWrite
			}
			if err != nil {
				op.Err, failed = err, err
				continue
			}
		}
		syncWanted = syncWanted || op.Sync
	}
	if syncWanted && failed == nil {
		err := c.file.Sync()
		for _, op := range c.ops {
			if op.Sync {
				op.Err = err
			}
		}
	}
}

// runOverlapped runs chains concurrently on the portable path.
func runOverlapped(chains []*chain) {
	if len(chains) == 1 {
		runPortable(chains[0])
		return
	}
	var wg sync.WaitGroup
	for _, c := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runPortable(c)
		}()
	}
	wg.Wait()
}

type pwriteEngine struct{}

func (pwriteEngine) Name() string  { return "pwrite" }
func (pwriteEngine) Close() error  { return nil }
func (pwriteEngine) Run(ops []*Op) { runOverlapped(groupByFile(ops)) }
