package handler

// Writing a share partition's state to its share coordinator: one writer
// goroutine per share partition, the newest state each time, waiters
// answered by version.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/coordinator/sharestate"
)

// persistAsync writes the current state in the background.
func (sp *sharePart) persistAsync() {
	sp.mu.Lock()
	sp.startWriterLocked()
	sp.mu.Unlock()
}

var errSharePartDropped = errors.New("share partition no longer led here")

// persist returns once the share coordinator has the state as it is now
// (or a later one), or ctx ends. The writes themselves run on the share
// partition's writer goroutine (writeLoop), not on the caller's request:
// a client that goes away mid-write does not fail the write the others
// wait on.
func (sp *sharePart) persist(ctx context.Context) error {
	sp.mu.Lock()
	want := sp.version
	if sp.durable >= want {
		sp.mu.Unlock()
		return nil
	}
	w := persistWaiter{version: want, done: make(chan error, 1)}
	sp.waiters = append(sp.waiters, w)
	sp.startWriterLocked()
	sp.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startWriterLocked starts the writer unless it runs. sp.mu is held.
func (sp *sharePart) startWriterLocked() {
	if sp.writing || sp.durable >= sp.version {
		return
	}
	sp.writing = true
	go sp.writeLoop()
}

// writeLoop writes the newest state, one write at a time, until the
// share coordinator has the latest version; each write is bounded by
// shareWriteTimeout. A failed write answers every waiter with its error
// and ends the loop: the next change starts another. A fenced write (a
// newer leader, offsets reset) or one of state the coordinator no longer
// has (deleted) drops this copy; the next request loads the state again.
func (sp *sharePart) writeLoop() {
	sp.mu.Lock()
	for {
		if sp.dropped {
			sp.finishLocked(errSharePartDropped)
			sp.mu.Unlock()
			return
		}
		v := sp.version
		snap := sp.sm.Persisted()
		complete := int32(min(sp.sm.DeliveryCompleteCount(), 1<<31-1))
		stateEpoch := sp.stateEpoch
		sp.mu.Unlock()
		batches := make([]sharestate.Batch, 0, len(snap.Batches))
		for _, bt := range snap.Batches {
			batches = append(batches, sharestate.Batch{First: bt.First, Last: bt.Last, State: int8(bt.State), DeliveryCount: bt.DeliveryCount})
		}
		ctx, cancel := context.WithTimeout(context.Background(), shareWriteTimeout)
		err := sp.s.b.shareStateWriteCount(ctx, sp.key.stateKey(), sp.leaderEpoch, stateEpoch, snap.StartOffset, complete, batches)
		cancel()
		sp.mu.Lock()
		if err != nil {
			sp.finishLocked(err)
			sp.mu.Unlock()
			if errors.Is(err, kerr.FencedLeaderEpoch) || errors.Is(err, kerr.FencedStateEpoch) || errors.Is(err, kerr.InvalidRequest) {
				sp.s.mu.Lock()
				if sp.s.parts[sp.key] == sp {
					sp.s.dropLocked(sp)
				}
				sp.s.mu.Unlock()
			} else {
				sp.s.b.log.Warn("writing share partition state failed", "group", sp.key.group, "topic", sp.tp.Topic, "partition", sp.tp.Partition, "err", err)
			}
			return
		}
		sp.durable = max(sp.durable, v)
		sp.notifyLocked()
		if sp.durable >= sp.version {
			sp.writing = false
			sp.mu.Unlock()
			return
		}
	}
}

// persistError is the code an acknowledgement answers when its state
// could not be written, as Kafka's share partition maps the persister's
// errors: a fenced or vanished state (another leader, an offsets reset,
// deleted offsets) and a dropped copy are NOT_LEADER_OR_FOLLOWER, so the
// client finds the partition's state anew; an unreachable coordinator
// COORDINATOR_NOT_AVAILABLE; a request that gave up waiting
// REQUEST_TIMED_OUT; anything else UNKNOWN_SERVER_ERROR.
func persistError(err error) *kerr.Error {
	switch {
	case errors.Is(err, errSharePartDropped), errors.Is(err, kerr.FencedLeaderEpoch),
		errors.Is(err, kerr.FencedStateEpoch), errors.Is(err, kerr.InvalidRequest):
		return kerr.NotLeaderForPartition
	case errors.Is(err, kerr.NotCoordinator), errors.Is(err, kerr.CoordinatorNotAvailable),
		errors.Is(err, kerr.CoordinatorLoadInProgress):
		return kerr.CoordinatorNotAvailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut
	}
	return kerr.UnknownServerError
}

// notifyLocked answers the waiters whose version is durable.
func (sp *sharePart) notifyLocked() {
	kept := sp.waiters[:0]
	for _, w := range sp.waiters {
		if w.version <= sp.durable {
			w.done <- nil
			continue
		}
		kept = append(kept, w)
	}
	sp.waiters = kept
}

// finishLocked ends a writing run that failed: every waiter learns err.
func (sp *sharePart) finishLocked(err error) {
	for _, w := range sp.waiters {
		w.done <- err
	}
	sp.waiters = nil
	sp.writing = false
}
