package broker

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// Source is the metadata image a broker serves from: its own controller
// node's (*node.Node), or a copy of a controller's (Remote).
type Source interface {
	// View calls fn with the image; fn must not keep it or block.
	View(fn func(*controller.Image))
	// Leader is the active controller's node id (0: none known).
	Leader() uint64
	// Changed is closed at the next change.
	Changed() <-chan struct{}
	// Replayed reports that the image is no older than what this process
	// acted on before (safe to delete replicas missing from it).
	Replayed() bool
	// Applied is the metadata log index the image is at.
	Applied() uint64
}

// Remote is a broker-only node's copy of the cluster metadata
// (process.roles=broker): it asks the controller nodes in turn for their
// image every 100 ms and keeps the newest. Any controller that has
// replayed its log answers, so the copy is a committed state, at most a
// poll behind.
type Remote struct {
	controllers []string
	call        node.Caller
	changed     *signal.Signal
	logf        func(string, ...any)

	mu      sync.RWMutex
	image   *controller.Image
	index   uint64
	leader  uint64
	fetched bool
}

// NewRemote returns a copy that Run keeps fresh.
func NewRemote(controllers []string, call node.Caller, logf func(string, ...any)) *Remote {
	return &Remote{controllers: controllers, call: call, image: controller.NewImage(), changed: signal.New(), logf: logf}
}

func (r *Remote) View(fn func(*controller.Image)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(r.image)
}

func (r *Remote) Leader() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.leader
}

func (r *Remote) Changed() <-chan struct{} { return r.changed.Wait() }

// Replayed is true once a copy arrived: every copy is a committed state
// at least as new as the last one (older answers are dropped).
func (r *Remote) Replayed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fetched
}

// Applied is the metadata log index of the copy held.
func (r *Remote) Applied() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.index
}

// Run polls until ctx ends.
func (r *Remote) Run(ctx context.Context) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		reply, err := askControllers(cctx, r.call, r.controllers, node.BrokerRequest{Op: "metadata"})
		cancel()
		if err == nil && reply.Metadata != nil {
			r.take(reply.Metadata)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// take keeps a copy newer than the one held.
func (r *Remote) take(m *node.MetadataReply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leader = m.Leader
	if r.fetched && m.Index <= r.index {
		return
	}
	im := controller.NewImage()
	if err := json.Unmarshal(m.Image, im); err != nil {
		r.logf("cluster: a controller's metadata does not decode: %v", err)
		return
	}
	if !r.fetched {
		r.logf("cluster: metadata copied from the controllers at index %d", m.Index)
	}
	r.image, r.index, r.fetched = im, m.Index, true
	r.changed.Notify()
}

// askAttempt bounds one request to one controller node, so a node that
// does not answer (cut off, frozen) costs a moment, not the whole deadline.
const askAttempt = time.Second

// askControllers asks the controller nodes in turn, starting with first
// (the active controller's index, when known), again every 100 ms until
// ctx ends, for an answer other than NOT_CONTROLLER, and returns it with
// its error code as a Kafka error (REQUEST_TIMED_OUT when none came). One
// attempt waits at most askAttempt.
func askControllers(ctx context.Context, call node.Caller, controllers []string, r node.BrokerRequest, first ...int) (node.BrokerReply, error) {
	req, _ := json.Marshal(r)
	start := 0
	if len(first) > 0 && first[0] > 0 {
		start = first[0]
	}
	for {
		for i := range controllers {
			addr := controllers[(start+i)%len(controllers)]
			actx, cancel := context.WithTimeout(ctx, askAttempt)
			resp, err := call(actx, addr, req)
			cancel()
			if err != nil {
				continue
			}
			var r node.BrokerReply
			if json.Unmarshal(resp, &r) != nil || r.ErrorCode == kerr.NotController.Code {
				continue
			}
			return r, kerr.ErrorForCode(r.ErrorCode)
		}
		select {
		case <-ctx.Done():
			return node.BrokerReply{}, kerr.RequestTimedOut
		case <-time.After(100 * time.Millisecond):
		}
	}
}
