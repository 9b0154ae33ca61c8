package wio

import (
	"sync"

	"github.com/rillmq/rill/engine/vfs"
)

// GroupCommitter turns concurrent Sync calls into shared rounds on an
// Engine (see the package doc). It implements log.Syncer.
type GroupCommitter struct {
	engine Engine

	mu      sync.Mutex
	queue   []*syncRequest
	leading bool

	rounds   uint64
	requests uint64
}

type syncRequest struct {
	files []vfs.File
	err   error
	done  chan struct{}
}

// NewGroupCommitter returns a committer over engine.
func NewGroupCommitter(engine Engine) *GroupCommitter { return &GroupCommitter{engine: engine} }

// Engine returns the engine rounds run on.
func (g *GroupCommitter) Engine() Engine { return g.engine }

// Stats returns how many rounds ran for how many requests.
func (g *GroupCommitter) Stats() (rounds, requests uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rounds, g.requests
}

// Sync returns once every file is durable, or with the first error of its
// files' fsyncs.
func (g *GroupCommitter) Sync(files []vfs.File) error {
	if len(files) == 0 {
		return nil
	}
	req := &syncRequest{files: files, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	g.requests++
	if g.leading {
		g.mu.Unlock()
		<-req.done
		return req.err
	}
	g.leading = true
	for len(g.queue) > 0 {
		batch := g.queue
		g.queue = nil
		g.rounds++
		g.mu.Unlock()
		g.round(batch)
		g.mu.Lock()
	}
	g.leading = false
	g.mu.Unlock()
	return req.err
}

// round fsyncs each distinct file once and reports to every request.
func (g *GroupCommitter) round(batch []*syncRequest) {
	opByFile := map[vfs.File]*Op{}
	var ops []*Op
	for _, r := range batch {
		for _, f := range r.files {
			if opByFile[f] == nil {
				op := &Op{File: f, Sync: true}
				opByFile[f] = op
				ops = append(ops, op)
			}
		}
	}
	g.engine.Run(ops)
	for _, r := range batch {
		for _, f := range r.files {
			if err := opByFile[f].Err; err != nil && r.err == nil {
				r.err = err
			}
		}
		close(r.done)
	}
}
