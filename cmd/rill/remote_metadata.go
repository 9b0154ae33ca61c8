package main

import (
	"context"
	"encoding/json"
	stdlog "log"
	"sync"
	"time"

	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
	"github.com/rillmq/rill/replication/transport"
)

// remoteMetadata is a broker-only node's copy of the cluster metadata
// (process.roles=broker): it asks the controller nodes in turn for their
// image every 100 ms and keeps the newest. Any controller that has
// replayed its log answers, so the copy is a committed state, at most a
// poll behind.
type remoteMetadata struct {
	controllers []string

	mu      sync.RWMutex
	image   *controller.Image
	index   uint64
	leader  uint64
	fetched bool
	changed chan struct{}
}

func newRemoteMetadata(controllers []string) *remoteMetadata {
	return &remoteMetadata{controllers: controllers, image: controller.NewImage(), changed: make(chan struct{})}
}

func (r *remoteMetadata) View(fn func(*controller.Image)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(r.image)
}

func (r *remoteMetadata) Leader() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.leader
}

func (r *remoteMetadata) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

// Replayed is true once a copy arrived: every copy is a committed state
// at least as new as the last one (older answers are dropped).
func (r *remoteMetadata) Replayed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fetched
}

// run polls until ctx ends.
func (r *remoteMetadata) run(ctx context.Context, logger *stdlog.Logger) {
	req, _ := json.Marshal(node.BrokerRequest{Op: "metadata"})
	next := 0
	for {
		for tries := 0; tries < len(r.controllers); tries++ {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			resp, err := transport.Call(cctx, r.controllers[next%len(r.controllers)], req)
			cancel()
			var reply node.BrokerReply
			if err == nil {
				err = json.Unmarshal(resp, &reply)
			}
			if err != nil || reply.ErrorCode != 0 || reply.Metadata == nil {
				next++
				continue
			}
			r.take(reply.Metadata, logger)
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// take keeps a copy newer than the one held.
func (r *remoteMetadata) take(m *node.MetadataReply, logger *stdlog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leader = m.Leader
	if r.fetched && m.Index <= r.index {
		return
	}
	im := controller.NewImage()
	if err := json.Unmarshal(m.Image, im); err != nil {
		logger.Printf("cluster: a controller's metadata does not decode: %v", err)
		return
	}
	if !r.fetched {
		logger.Printf("cluster: metadata copied from the controllers at index %d", m.Index)
	}
	r.image, r.index, r.fetched = im, m.Index, true
	close(r.changed)
	r.changed = make(chan struct{})
}
