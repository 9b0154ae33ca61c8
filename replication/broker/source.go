package broker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

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
// image every 100 ms (FetchSnapshot, see package node), the active
// controller first, and keeps the newest. Any controller that has
// replayed its log answers, so the copy is a committed state; the active
// controller's is the newest, at most a poll behind.
type Remote struct {
	controllers []string
	ids         []uint64 // the controllers' node ids, in the same order
	call        node.Caller
	changed     *signal.Signal
	log         *slog.Logger

	mu      sync.RWMutex
	image   *controller.Image
	index   uint64
	leader  uint64
	fetched bool
}

// NewRemote returns a copy that Run keeps fresh; ids are the controllers'
// node ids, in the order of their addresses.
func NewRemote(controllers []string, ids []uint64, call node.Caller, log *slog.Logger) *Remote {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Remote{controllers: controllers, ids: ids, call: call, image: controller.NewImage(), changed: signal.New(), log: log}
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
		r.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// poll asks the controller nodes for a newer image, the active controller
// first: a node that has nothing newer is not the last word unless it is
// the active controller itself (a voter cut off from the quorum answers
// from a stale image, and a copy taken only from it would never catch up),
// so the others are asked in turn.
func (r *Remote) poll(ctx context.Context) {
	start := 0
	if leader := r.Leader(); leader != 0 {
		for i, id := range r.ids {
			if id == leader {
				start = i
			}
		}
	}
	for i := range r.controllers {
		j := (start + i) % len(r.controllers)
		actx, cancel := context.WithTimeout(ctx, askAttempt)
		resp, err := node.Ask(actx, r.call, r.controllers[j], r.snapshotRequest())
		cancel()
		if err != nil || node.ResponseError(resp) != nil {
			continue
		}
		fs, ok := resp.(*kmsg.FetchSnapshotResponse)
		if !ok {
			continue
		}
		newer, leader := r.take(fs)
		if newer || (j < len(r.ids) && leader == r.ids[j]) {
			return
		}
	}
}

// snapshotRequest asks for the metadata image (FetchSnapshot of
// __cluster_metadata-0, see package node) if it is newer than the copy
// held.
func (r *Remote) snapshotRequest() *kmsg.FetchSnapshotRequest {
	p := kmsg.NewFetchSnapshotRequestTopicPartition()
	p.CurrentLeaderEpoch, p.SnapshotID.EndOffset, p.SnapshotID.Epoch = -1, -1, -1
	r.mu.RLock()
	if r.fetched {
		p.SnapshotID.EndOffset = int64(r.index)
	}
	r.mu.RUnlock()
	t := kmsg.NewFetchSnapshotRequestTopic()
	t.Topic, t.Partitions = node.MetadataSnapshotTopic, []kmsg.FetchSnapshotRequestTopicPartition{p}
	req := kmsg.NewPtrFetchSnapshotRequest()
	req.ReplicaID, req.MaxBytes, req.Topics = -1, math.MaxInt32, []kmsg.FetchSnapshotRequestTopic{t}
	return req
}

// take keeps a copy newer than the one held (newer), and the active
// controller the answering node knows (leader, 0: none).
func (r *Remote) take(resp *kmsg.FetchSnapshotResponse) (newer bool, leader uint64) {
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return false, 0
	}
	p := resp.Topics[0].Partitions[0]
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.CurrentLeader.LeaderID > 0 {
		leader = uint64(p.CurrentLeader.LeaderID)
		r.leader = leader
	}
	index := uint64(max(p.SnapshotID.EndOffset, 0))
	if r.fetched && index <= r.index || len(p.Bytes) == 0 {
		return false, leader // not newer (a node at our index sends no bytes)
	}
	im := controller.NewImage()
	if err := json.Unmarshal(p.Bytes, im); err != nil {
		r.log.Warn("a controller's metadata does not decode", "controller", leader, "err", err)
		return false, leader
	}
	if !r.fetched {
		r.log.Info("metadata copied from the controllers", "index", index)
	}
	r.image, r.index, r.fetched = im, index, true
	r.changed.Notify()
	return true, leader
}

// askAttempt bounds one request to one controller node, so a node that
// does not answer (cut off, frozen) costs a moment, not the whole deadline.
const askAttempt = time.Second

// askControllers asks the controller nodes in turn, starting with first
// (the active controller's index, when known), again every 100 ms until
// ctx ends, for an answer other than NOT_CONTROLLER, and returns it with
// its error (node.ResponseError: a Kafka error with the controller's
// message; REQUEST_TIMED_OUT when no answer came). One attempt waits at
// most askAttempt.
func askControllers(ctx context.Context, call node.Caller, controllers []string, req kmsg.Request, first ...int) (kmsg.Response, error) {
	start := 0
	if len(first) > 0 && first[0] > 0 {
		start = first[0]
	}
	for {
		for i := range controllers {
			addr := controllers[(start+i)%len(controllers)]
			actx, cancel := context.WithTimeout(ctx, askAttempt)
			resp, err := node.Ask(actx, call, addr, req)
			cancel()
			if err != nil {
				continue
			}
			if err = node.ResponseError(resp); errors.Is(err, kerr.NotController) {
				continue
			}
			return resp, err
		}
		select {
		case <-ctx.Done():
			return nil, kerr.RequestTimedOut
		case <-time.After(100 * time.Millisecond):
		}
	}
}
