//go:build linux

package wio

import (
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/rillmq/rill/engine/vfs"
)

type uringEngine struct {
	mu   sync.Mutex
	ring *ring
}

func newUring() (Engine, error) {
	r, err := newRing(defaultRingDepth)
	if err != nil {
		return nil, err
	}
	// Probe with an empty round: seccomp may allow setup and deny enter.
	if _, err := r.run(nil); err != nil {
		r.close()
		return nil, err
	}
	return &uringEngine{ring: r}, nil
}

func (e *uringEngine) Name() string { return "uring" }

func (e *uringEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ring != nil {
		e.ring.close()
		e.ring = nil
	}
	return nil
}

// Run puts every file's chain into the ring: its writes in order, linked,
// then one FSYNC(DATASYNC) linked after them when any op asked for sync.
// Chains of different files run in parallel inside the kernel. Rounds
// larger than the ring are split between chains.
func (e *uringEngine) Run(ops []*Op) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var portable []*chain
	var batch []*chain
	size := 0
	flush := func() {
		if len(batch) > 0 {
			e.runChains(batch)
			batch, size = nil, 0
		}
	}
	for _, c := range groupByFile(ops) {
		if _, ok := c.file.(vfs.FdFile); !ok || e.ring == nil {
			portable = append(portable, c)
			continue
		}
		n := len(c.ops) + 1
		if n > int(e.ring.depth) {
			portable = append(portable, c)
			continue
		}
		if size+n > int(e.ring.depth) {
			flush()
		}
		batch = append(batch, c)
		size += n
	}
	flush()
	if len(portable) > 0 {
		runOverlapped(portable)
	}
}

type slot struct {
	op   *Op // nil for the chain's fsync
	c    *chain
	want int
}

func (e *uringEngine) runChains(chains []*chain) {
	var raw []rawOp
	var slots []slot
	for _, c := range chains {
		fd := int32(c.file.(vfs.FdFile).Fd())
		syncWanted := false
		for _, op := range c.ops {
			syncWanted = syncWanted || op.Sync
			if op.Data != nil {
				raw = append(raw, rawOp{opcode: opWrite, fd: fd, buf: op.Data, off: uint64(op.Off), link: true})
				slots = append(slots, slot{op: op, c: c, want: len(op.Data)})
			}
		}
		if syncWanted {
			raw = append(raw, rawOp{opcode: opFsync, fd: fd})
			slots = append(slots, slot{c: c})
		} else if len(raw) > 0 && slots[len(slots)-1].c == c {
			raw[len(raw)-1].link = false // a chain ends at its last op
		}
	}
	res, err := e.ring.run(raw)
	if err != nil {
		// The ring is unusable; finish this round and all later ones on
		// the portable path.
		e.ring.close()
		e.ring = nil
		runOverlapped(chains)
		return
	}
	syncErr := map[*chain]error{}
	chainErr := map[*chain]error{}
	for i, s := range slots {
		var opErr error
		switch {
		case res[i] < 0:
			opErr = syscall.Errno(-res[i])
		case s.op != nil && int(res[i]) < s.want:
			opErr = io.ErrShortWrite
		}
		if s.op == nil {
			syncErr[s.c] = opErr
			continue
		}
		if ce := chainErr[s.c]; ce != nil {
			opErr = ce // canceled by the broken link: report the cause
		}
		if opErr != nil && chainErr[s.c] == nil {
			chainErr[s.c] = opErr
		}
		s.op.Err = opErr
	}
	for _, c := range chains {
		for _, op := range c.ops {
			if op.Err == nil && op.Sync {
				if ce := chainErr[c]; ce != nil {
					op.Err = ce
				} else if se := syncErr[c]; se != nil {
					op.Err = fmt.Errorf("wio: fdatasync %s: %w", c.file.Name(), se)
				}
			}
		}
	}
}
