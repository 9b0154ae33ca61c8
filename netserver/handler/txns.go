package handler

// The transaction coordinator's home in the broker (package coordinator/txn
// on the coordinator runtime): __transaction_state (created on the first
// FindCoordinator for a transactional id, as Kafka does), its log
// (internalLog), the producer ids it hands out (this broker's block), the
// coordinator epoch its markers carry (the partition's leader epoch), and
// the marker writer: a transaction's COMMIT or ABORT control batch goes to
// every partition's leader, this broker through its own replicas and
// another through WriteTxnMarkers.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/controller"
)

// TransactionStateTopic is Kafka's internal topic of transaction state.
const TransactionStateTopic = "__transaction_state"

// txnTick is the precision of transaction timeouts and how often owed
// markers are looked for.
const txnTick = 100 * time.Millisecond

// txnStateTopicConfigs are __transaction_state's settings, as Kafka's:
// compacted, 100 MiB segments (transaction.state.log.segment.bytes),
// min.insync.replicas from transaction.state.log.min.isr, and fsynced
// before every answer like the offsets topic, compression.type=producer.
func (b *Broker) txnStateTopicConfigs() map[string]string {
	return map[string]string{
		"compression.type":    "producer",
		"cleanup.policy":      "compact",
		"segment.bytes":       strconv.Itoa(100 << 20),
		"flush.messages":      "1",
		"min.insync.replicas": strconv.Itoa(int(max(b.cfg.TxnStateMinISR, 1))),
	}
}

// txnStatePartitions is __transaction_state's partition count as it
// exists (0 before it is created).
func (b *Broker) txnStatePartitions() int32 {
	if b.cluster == nil {
		return 0
	}
	t, _ := b.topic(TransactionStateTopic)
	return t.Partitions
}

// ensureTxnStateTopic creates __transaction_state when it does not exist.
func (b *Broker) ensureTxnStateTopic() error {
	if _, ok := b.topic(TransactionStateTopic); ok {
		return nil
	}
	rf := min(max(b.cfg.TxnStateReplicationFactor, 1), int16(max(len(b.cluster.Brokers()), 1)))
	cfg := b.txnStateTopicConfigs()
	if isr, _ := strconv.Atoi(cfg["min.insync.replicas"]); isr > int(rf) {
		cfg["min.insync.replicas"] = strconv.Itoa(int(rf))
	}
	parts := b.cfg.Txn.StatePartitions
	if parts <= 0 {
		parts = txn.DefaultConfig().StatePartitions
	}
	_, err := b.createTopicAnywhere(TransactionStateTopic, parts, rf, cfg, nil)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	return err
}

// newTxnCoordinator builds the transaction coordinator over this broker.
func (b *Broker) newTxnCoordinator() *txn.Coordinator {
	tc := b.cfg.Txn
	if tc.StatePartitions <= 0 {
		tc = txn.DefaultConfig()
		tc.OffsetsPartitions = b.cfg.Groups.OffsetsPartitions
		tc.LogVersion = txn.Version(b.cfg.TransactionVersion)
	}
	tc.CurrentLogVersion = func() txn.Version { return txn.Version(b.transactionVersion()) }
	return txn.NewCoordinator(txn.CoordinatorConfig{
		Config:           tc,
		Log:              internalLog{b, TransactionStateTopic},
		IDs:              brokerProducerIDs{b},
		Markers:          markerWriter{b},
		Partitions:       b.txnStatePartitions,
		OffsetsPartition: b.groups.PartitionOf,
		CoordinatorEpoch: func(p int32) int32 { return b.leaderEpoch(TransactionStateTopic, p) },
		Logger:           b.cfg.TxnLogger,
	})
}

// txnV2 reports whether transaction version 2 (KIP-890 part 2) is in
// effect: Produce v12 and TxnOffsetCommit v5 then add their partitions.
func (b *Broker) txnV2() bool { return b.transactionVersion() >= 2 }

// transactionVersion is the finalized transaction.version feature as this
// broker has applied it; before the metadata has any (a new cluster's
// controller finalizes it first), the configured one.
func (b *Broker) transactionVersion() int16 {
	levels, _ := b.cluster.Features()
	if tv, ok := levels[controller.FeatureTransactionVersion]; ok {
		return tv
	}
	return b.cfg.TransactionVersion
}

// brokerProducerIDs is txn.ProducerIDs over this broker's block.
type brokerProducerIDs struct{ b *Broker }

func (p brokerProducerIDs) NextProducerID() (int64, error) { return p.b.producerID() }

// startTxns starts the transaction coordinator's clock and marker sender;
// the returned func stops them.
func (b *Broker) startTxns() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.txns.Run(ctx, txnTick)
	}()
	return func() {
		cancel()
		<-done
		b.peers.close()
	}
}

// txnError is the wire code of a transaction coordinator outcome, for a
// request of version v of an API whose versions before fencedSince answer
// INVALID_PRODUCER_EPOCH where later ones answer PRODUCER_FENCED (KIP-588).
func txnError(err error, v, fencedSince int16) *kerr.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, shard.ErrNotCoordinator):
		return kerr.NotCoordinator
	case errors.Is(err, shard.ErrLoading):
		return kerr.CoordinatorLoadInProgress
	case errors.Is(err, txn.ErrInvalidRequest):
		return kerr.InvalidRequest
	case errors.Is(err, txn.ErrInvalidTransactionTimeout):
		return kerr.InvalidTransactionTimeout
	case errors.Is(err, txn.ErrConcurrentTransactions):
		return kerr.ConcurrentTransactions
	case errors.Is(err, txn.ErrProducerFenced):
		if v < fencedSince {
			return kerr.InvalidProducerEpoch
		}
		return kerr.ProducerFenced
	case errors.Is(err, txn.ErrInvalidProducerIDMapping):
		return kerr.InvalidProducerIDMapping
	case errors.Is(err, txn.ErrInvalidTxnState):
		return kerr.InvalidTxnState
	case errors.Is(err, txn.ErrTransactionAbortable):
		return kerr.TransactionAbortable
	}
	// A failed append of the coordinator's record, as Kafka's
	// appendTransactionToLog maps it: the client retries elsewhere or later.
	switch toKerr(err) {
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError, kerr.UnknownTopicOrPartition:
		return kerr.NotCoordinator
	case kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut, kerr.LeaderNotAvailable:
		return kerr.CoordinatorNotAvailable
	}
	return kerr.UnknownServerError
}

// markerWriter is txn.MarkerWriter over the cluster: each partition's
// markers go to its current leader.
type markerWriter struct {
	b *Broker
}

// WriteMarkers writes mk to every partition (txn.MarkerWriter): to each
// leader at once, this broker's own partitions through its replicas. A
// partition without a leader is reported failed and delays no other.
func (w markerWriter) WriteMarkers(ctx context.Context, mk txn.Markers, coordinatorEpoch int32) ([]kafka.TopicPartition, error) {
	byLeader := map[int32][]kafka.TopicPartition{}
	var failed []kafka.TopicPartition
	var errs []error
	for _, tp := range mk.Partitions {
		if _, ok := w.b.topic(tp.Topic); !ok {
			continue // deleted with its markers owed: nothing to end
		}
		cp, ok := w.b.cluster.Partition(tp.Topic, tp.Partition)
		if !ok {
			continue
		}
		if cp.Leader < 0 {
			failed = append(failed, tp)
			errs = append(errs, fmt.Errorf("%s has no leader", tp))
			continue
		}
		byLeader[cp.Leader] = append(byLeader[cp.Leader], tp)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, tps := range byLeader {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var codes map[kafka.TopicPartition]*kerr.Error
			var err error
			if leader == w.b.cfg.NodeID {
				codes = w.b.appendMarkers(mk.ProducerID, mk.ProducerEpoch, mk.Commit, coordinatorEpoch, int16(mk.Version), tps, markerTimeout(ctx))
			} else {
				codes, err = w.send(ctx, leader, mk, coordinatorEpoch, tps)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, tps...)
				errs = append(errs, fmt.Errorf("broker %d: %w", leader, err))
				return
			}
			for _, tp := range tps {
				if e := codes[tp]; e != nil && e != kerr.UnknownTopicOrPartition {
					failed = append(failed, tp)
					errs = append(errs, fmt.Errorf("%s on broker %d: %w", tp, leader, e))
				}
			}
		}()
	}
	wg.Wait()
	return failed, errors.Join(errs...)
}

// markerTimeout is how long a marker append waits for the in-sync
// replicas: what is left of ctx, at most coordinatorAppendTimeout.
func markerTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(min(time.Until(d), coordinatorAppendTimeout), time.Millisecond)
	}
	return coordinatorAppendTimeout
}

// send writes markers through another broker's WriteTxnMarkers and
// returns each partition's code.
func (w markerWriter) send(ctx context.Context, leader int32, mk txn.Markers, coordinatorEpoch int32, tps []kafka.TopicPartition) (map[kafka.TopicPartition]*kerr.Error, error) {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = mk.ProducerID, mk.ProducerEpoch, mk.Commit, coordinatorEpoch
	// v2 carries it (KIP-1228); a leader serving only v0-1 gets v1 and
	// checks the marker's epoch as for any legacy marker.
	m.TransactionVersion = int8(mk.Version)
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(m.Topics)
			byTopic[tp.Topic] = i
			t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
			t.Topic = tp.Topic
			m.Topics = append(m.Topics, t)
		}
		m.Topics[i].Partitions = append(m.Topics[i].Partitions, tp.Partition)
	}
	req.Markers = append(req.Markers, m)
	resp, err := w.b.peerRequest(ctx, leader, req)
	if err != nil {
		return nil, err
	}
	codes := make(map[kafka.TopicPartition]*kerr.Error, len(tps))
	for _, tp := range tps {
		codes[tp] = kerr.UnknownServerError // unless answered
	}
	for _, rm := range resp.(*kmsg.WriteTxnMarkersResponse).Markers {
		for _, t := range rm.Topics {
			for _, p := range t.Partitions {
				tp := kafka.TopicPartition{Topic: t.Topic, Partition: p.Partition}
				if _, asked := codes[tp]; asked {
					codes[tp] = asKerr(kerr.ErrorForCode(p.ErrorCode))
				}
			}
		}
	}
	return codes, nil
}

// appendMarkers appends the markers in parallel and returns each
// partition's outcome (nil: written and replicated). tv is the version of
// the transaction they end (WriteTxnMarkers v2; 0 when unknown): from 2 a
// marker whose epoch is not above the producer's is refused
// (INVALID_PRODUCER_EPOCH), and one at that epoch for a transaction
// already ended is answered as written (Kafka's
// IdempotentTransactionMarkerException).
func (b *Broker) appendMarkers(pid int64, epoch int16, commit bool, coordinatorEpoch int32, tv int16, tps []kafka.TopicPartition, timeout time.Duration) map[kafka.TopicPartition]*kerr.Error {
	out := make(map[kafka.TopicPartition]*kerr.Error, len(tps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, tp := range tps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := b.appendMarker(pid, epoch, commit, coordinatorEpoch, tv, tp, timeout)
			mu.Lock()
			out[tp] = e
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (b *Broker) appendMarker(pid int64, epoch int16, commit bool, coordinatorEpoch int32, tv int16, tp kafka.TopicPartition, timeout time.Duration) *kerr.Error {
	if _, ok := b.topic(tp.Topic); !ok {
		return kerr.UnknownTopicOrPartition
	}
	if e := b.leaderHere(tp.Topic, tp.Partition); e != nil {
		return e
	}
	rep, code := b.replicaOf(tp.Topic, tp.Partition)
	if code != nil {
		return code
	}
	batch := format.ControlBatch(pid, epoch, commit, coordinatorEpoch, time.Now().UnixMilli())
	res, wait, err := rep.AppendMarker(batch, timeout, tv)
	if err != nil {
		return toKerr(err)
	}
	if !res.Duplicate {
		b.watch.wake(tp)
	}
	if err := <-wait; err != nil {
		return toKerr(err)
	}
	if tp.Topic == OffsetsTopic {
		// Also for a TV2 retry the log answered as a duplicate: the
		// producer has no transaction open there, so this ends nothing
		// unless the first attempt's call below failed.
		if err := b.groups.CompleteTransaction(tp.Partition, pid, commit); err != nil {
			// The marker is in the log: a reload of the partition applies
			// it; until then the coordinator's view lags.
			b.log.Warn("transaction marker written, group offsets not yet applied", "producer_id", pid, "outcome", txnOutcome(commit), "partition", tp.String(), "err", err)
			return kerr.NotCoordinator
		}
	}
	return nil
}

func txnOutcome(commit bool) string {
	if commit {
		return "COMMIT"
	}
	return "ABORT"
}
