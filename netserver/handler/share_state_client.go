package handler

// The broker's client of the share coordinator, for this broker's share
// partitions (their leader reads and writes their state) and the group
// coordinator (initialize, delete, summaries): each call reaches the
// coordinator of the key wherever it is, in process when this broker
// leads the key's __share_group_state partition, else APIs 83-87 to that
// partition's leader through b.peerRequest, found as FindCoordinator key
// type 2 finds it. The callers are brokers, not clients that retry, so a
// coordinator that moved, loads or has no leader yet (NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, or an
// unreachable leader) is tried again a few times, finding it anew each
// time, within ctx. Errors are *kerr.Error values (the last one met when
// the tries ran out; ctx's error when it ended first).

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

// shareStateTries and shareStateBackoff bound the tries of one call: the
// backoff doubles from shareStateBackoff up to shareStateMaxBackoff
// (about 3 s in all), enough for a leadership move and a load.
const (
	shareStateTries      = 10
	shareStateBackoff    = 25 * time.Millisecond
	shareStateMaxBackoff = 500 * time.Millisecond
)

// shareStateRetriable reports whether err asks to find the coordinator
// again.
func shareStateRetriable(err error) bool {
	return errors.Is(err, kerr.NotCoordinator) || errors.Is(err, kerr.CoordinatorLoadInProgress) || errors.Is(err, kerr.CoordinatorNotAvailable)
}

// shareStateCall runs one call on k's coordinator: local when this
// broker leads k's partition, else remote to leader, with the tries
// described above.
func (b *Broker) shareStateCall(ctx context.Context, k sharestate.Key, local func() error, remote func(ctx context.Context, send peerSend) error) error {
	if k.Group == "" || k.Partition < 0 {
		return kerr.InvalidRequest
	}
	backoff := shareStateBackoff
	var err error
	for try := 0; try < shareStateTries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, shareStateMaxBackoff)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		err = b.shareStateOnce(ctx, k, local, remote)
		if err == nil || !shareStateRetriable(err) {
			return err
		}
	}
	return err
}

func (b *Broker) shareStateOnce(ctx context.Context, k sharestate.Key, local func() error, remote func(ctx context.Context, send peerSend) error) error {
	if err := b.ensureShareStateTopic(); err != nil {
		return kerr.CoordinatorNotAvailable
	}
	p := b.shareState.PartitionOf(k.String())
	cp, ok := b.cluster.Partition(ShareStateTopic, p)
	if !ok || cp.Leader < 0 {
		return kerr.CoordinatorNotAvailable
	}
	if cp.Leader == b.cfg.NodeID {
		return local()
	}
	err := remote(ctx, func(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
		return b.peerRequest(ctx, cp.Leader, req)
	})
	var ke *kerr.Error
	if err != nil && !errors.As(err, &ke) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The leader did not answer (down, moving): find it again.
		b.log.Debug("share coordinator request failed", "leader", cp.Leader, "partition", p, "err", err)
		return kerr.CoordinatorNotAvailable
	}
	return err
}

// peerSend sends a request to the coordinator's broker.
type peerSend func(ctx context.Context, req kmsg.Request) (kmsg.Response, error)

// codeErr is the *kerr.Error of a response's code, nil for 0.
func codeErr(code int16) error {
	if code == 0 {
		return nil
	}
	if ke, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return ke
	}
	return kerr.UnknownServerError
}

// shareStateRead is ReadShareGroupState for k: its state, after the
// coordinator recorded leaderEpoch if higher.
func (b *Broker) shareStateRead(ctx context.Context, k sharestate.Key, leaderEpoch int32) (sharestate.State, error) {
	var st sharestate.State
	err := b.shareStateCall(ctx, k,
		func() (err error) { st, err = b.shareState.Read(k, leaderEpoch); return err },
		remoteShareStateRead(k, leaderEpoch, &st))
	if err != nil {
		return sharestate.State{}, err
	}
	return st, nil
}

// shareStateWrite is WriteShareGroupState for k without a
// delivery-complete count (it becomes unknown, -1): see
// shareStateWriteCount.
func (b *Broker) shareStateWrite(ctx context.Context, k sharestate.Key, leaderEpoch, stateEpoch int32, startOffset int64, batches []sharestate.Batch) error {
	return b.shareStateWriteCount(ctx, k, leaderEpoch, stateEpoch, startOffset, -1, batches)
}

// shareStateWriteCount is WriteShareGroupState v1 for k: the new start
// offset (-1 keeps it), the batches to merge and the leader's
// delivery-complete count (KIP-1226; -1 unknown).
func (b *Broker) shareStateWriteCount(ctx context.Context, k sharestate.Key, leaderEpoch, stateEpoch int32, startOffset int64, deliveryCompleteCount int32, batches []sharestate.Batch) error {
	return b.shareStateCall(ctx, k,
		func() error {
			return b.shareState.WriteWithCount(k, leaderEpoch, stateEpoch, startOffset, deliveryCompleteCount, batches)
		},
		remoteShareStateWrite(k, leaderEpoch, stateEpoch, startOffset, deliveryCompleteCount, batches))
}

// shareStateInitialize is InitializeShareGroupState for k.
func (b *Broker) shareStateInitialize(ctx context.Context, k sharestate.Key, stateEpoch int32, startOffset int64) error {
	return b.shareStateCall(ctx, k,
		func() error { return b.shareState.Initialize(k, stateEpoch, startOffset) },
		remoteShareStateInitialize(k, stateEpoch, startOffset))
}

// shareStateDelete is DeleteShareGroupState for k.
func (b *Broker) shareStateDelete(ctx context.Context, k sharestate.Key) error {
	return b.shareStateCall(ctx, k,
		func() error { return b.shareState.Delete(k) },
		remoteShareStateDelete(k))
}

// shareStateSummary is ReadShareGroupStateSummary v1 for k (a key never
// initialized: sharestate.Uninitialized, no error).
func (b *Broker) shareStateSummary(ctx context.Context, k sharestate.Key) (sharestate.Summary, error) {
	var s sharestate.Summary
	err := b.shareStateCall(ctx, k,
		func() (err error) { s, err = b.shareState.ReadSummary(k, -1); return err },
		remoteShareStateSummary(k, &s))
	if err != nil {
		return sharestate.Summary{}, err
	}
	return s, nil
}

// The remote halves: each sends its API to the coordinator's broker and
// reads k's result (a response that leaves k out is UNKNOWN_SERVER_ERROR).

func remoteShareStateRead(k sharestate.Key, leaderEpoch int32, st *sharestate.State) func(context.Context, peerSend) error {
	return func(ctx context.Context, send peerSend) error {
		req := kmsg.NewPtrReadShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewReadShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		p := kmsg.NewReadShareGroupStateRequestTopicPartition()
		p.Partition, p.LeaderEpoch = k.Partition, leaderEpoch
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
		resp, err := send(ctx, req)
		if err != nil {
			return err
		}
		for _, rt := range resp.(*kmsg.ReadShareGroupStateResponse).Topics {
			for _, rp := range rt.Partitions {
				if rt.TopicID != k.TopicID || rp.Partition != k.Partition {
					continue
				}
				if err := codeErr(rp.ErrorCode); err != nil {
					return err
				}
				*st = sharestate.State{StateEpoch: rp.StateEpoch, LeaderEpoch: leaderEpoch, StartOffset: rp.StartOffset}
				for _, sb := range rp.StateBatches {
					st.Batches = append(st.Batches, sharestate.Batch{First: sb.FirstOffset, Last: sb.LastOffset, State: sb.DeliveryState, DeliveryCount: sb.DeliveryCount})
				}
				return nil
			}
		}
		return kerr.UnknownServerError
	}
}

func remoteShareStateWrite(k sharestate.Key, leaderEpoch, stateEpoch int32, startOffset int64, deliveryCompleteCount int32, batches []sharestate.Batch) func(context.Context, peerSend) error {
	return func(ctx context.Context, send peerSend) error {
		req := kmsg.NewPtrWriteShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewWriteShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		p := kmsg.NewWriteShareGroupStateRequestTopicPartition()
		p.Partition, p.LeaderEpoch, p.StateEpoch, p.StartOffset, p.DeliveryCompleteCount = k.Partition, leaderEpoch, stateEpoch, startOffset, deliveryCompleteCount
		for _, sb := range batches {
			rb := kmsg.NewWriteShareGroupStateRequestTopicPartitionStateBatch()
			rb.FirstOffset, rb.LastOffset, rb.DeliveryState, rb.DeliveryCount = sb.First, sb.Last, sb.State, sb.DeliveryCount
			p.StateBatches = append(p.StateBatches, rb)
		}
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
		resp, err := send(ctx, req)
		if err != nil {
			return err
		}
		for _, rt := range resp.(*kmsg.WriteShareGroupStateResponse).Topics {
			for _, rp := range rt.Partitions {
				if rt.TopicID == k.TopicID && rp.Partition == k.Partition {
					return codeErr(rp.ErrorCode)
				}
			}
		}
		return kerr.UnknownServerError
	}
}

func remoteShareStateInitialize(k sharestate.Key, stateEpoch int32, startOffset int64) func(context.Context, peerSend) error {
	return func(ctx context.Context, send peerSend) error {
		req := kmsg.NewPtrInitializeShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewInitializeShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		p := kmsg.NewInitializeShareGroupStateRequestTopicPartition()
		p.Partition, p.StateEpoch, p.StartOffset = k.Partition, stateEpoch, startOffset
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
		resp, err := send(ctx, req)
		if err != nil {
			return err
		}
		for _, rt := range resp.(*kmsg.InitializeShareGroupStateResponse).Topics {
			for _, rp := range rt.Partitions {
				if rt.TopicID == k.TopicID && rp.Partition == k.Partition {
					return codeErr(rp.ErrorCode)
				}
			}
		}
		return kerr.UnknownServerError
	}
}

func remoteShareStateDelete(k sharestate.Key) func(context.Context, peerSend) error {
	return func(ctx context.Context, send peerSend) error {
		req := kmsg.NewPtrDeleteShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewDeleteShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		p := kmsg.NewDeleteShareGroupStateRequestTopicPartition()
		p.Partition = k.Partition
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
		resp, err := send(ctx, req)
		if err != nil {
			return err
		}
		for _, rt := range resp.(*kmsg.DeleteShareGroupStateResponse).Topics {
			for _, rp := range rt.Partitions {
				if rt.TopicID == k.TopicID && rp.Partition == k.Partition {
					return codeErr(rp.ErrorCode)
				}
			}
		}
		return kerr.UnknownServerError
	}
}

func remoteShareStateSummary(k sharestate.Key, s *sharestate.Summary) func(context.Context, peerSend) error {
	return func(ctx context.Context, send peerSend) error {
		req := kmsg.NewPtrReadShareGroupStateSummaryRequest()
		req.GroupID = k.Group
		t := kmsg.NewReadShareGroupStateSummaryRequestTopic()
		t.TopicID = k.TopicID
		p := kmsg.NewReadShareGroupStateSummaryRequestTopicPartition()
		p.Partition, p.LeaderEpoch = k.Partition, -1
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
		resp, err := send(ctx, req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.ReadShareGroupStateSummaryResponse)
		for _, rt := range r.Topics {
			for _, rp := range rt.Partitions {
				if rt.TopicID != k.TopicID || rp.Partition != k.Partition {
					continue
				}
				if err := codeErr(rp.ErrorCode); err != nil {
					return err
				}
				*s = sharestate.Summary{StateEpoch: rp.StateEpoch, LeaderEpoch: rp.LeaderEpoch, StartOffset: rp.StartOffset, DeliveryCompleteCount: rp.DeliveryCompleteCount}
				if r.Version < 1 {
					s.DeliveryCompleteCount = -1 // a v0 coordinator keeps none
				}
				return nil
			}
		}
		return kerr.UnknownServerError
	}
}
