package main

import (
	"context"
	"encoding/json"
	stdlog "log"
	"sync"
	"time"

	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// remoteMetadata is a broker-only node's copy of the cluster metadata
// (process.roles=broker): it asks the controller nodes in turn for their
// image every 100 ms and keeps the newest. Any controller that has
// replayed its log answers, so the copy is a committed state, at most a
// poll behind.
type remoteMetadata struct {
	controllers []string
	changed     *signal.Signal

	mu      sync.RWMutex
	image   *controller.Image
	index   uint64
	leader  uint64
	fetched bool
}

func newRemoteMetadata(controllers []string) *remoteMetadata {
	return &remoteMetadata{controllers: controllers, image: controller.NewImage(), changed: signal.New()}
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

func (r *remoteMetadata) Changed() <-chan struct{} { return r.changed.Wait() }

// Replayed is true once a copy arrived: every copy is a committed state
// at least as new as the last one (older answers are dropped).
func (r *remoteMetadata) Replayed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fetched
}

// Applied is the metadata log index of the copy held.
func (r *remoteMetadata) Applied() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.index
}

// run polls until ctx ends.
func (r *remoteMetadata) run(ctx context.Context, logger *stdlog.Logger) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		reply, err := askControllers(cctx, r.controllers, node.BrokerRequest{Op: "metadata"})
		cancel()
		if err == nil && reply.Metadata != nil {
			r.take(reply.Metadata, logger)
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
	r.changed.Notify()
}
