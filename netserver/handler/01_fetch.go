package handler

// Fetch (key 1), v4-v18.
//
// v17 (KIP-853: ReplicaDirectoryId) and v18 (KIP-1166: the follower's
// HighWatermark) add tagged fields that only KRaft voters' fetches use;
// a broker ignores them, as Kafka's ReplicaManager does, so v17 and v18
// are served as v16.
//
// Long poll: the answer waits until MinBytes of data are ready or
// MaxWaitMillis passes, waking when one of its partitions is appended to or
// its high watermark moves (fetch_watch.go). MaxBytes bounds the response
// (v3+) and PartitionMaxBytes each partition; the first partition with data
// gets at least one whole batch even when that is larger (KIP-74). Data is
// returned from the batch holding FetchOffset (clients skip the records
// before it) and may end in a partial batch, as Kafka's does. Batches go
// out as stored, zstd ones too at every version: Kafka 4 no longer answers
// UNSUPPORTED_COMPRESSION_TYPE below v10 (compression.go).
//
// Sessions (v7+, KIP-227; fetch_session.go and package fetchsession): a
// full request with epoch 0 gets a new session when the cache
// (max.incremental.fetch.session.cache.slots) has or can evict a slot;
// epoch -1 is sessionless whatever the session id (kafka-go sends -1/-1);
// an incremental request is read over all its session's partitions and
// answered with only those that changed. Session errors
// (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
// FETCH_SESSION_TOPIC_ID_ERROR) are top-level with no partitions. Topic
// IDs replace names from v13 (UNKNOWN_TOPIC_ID).
//
// Isolation: a read_uncommitted consumer reads below the high watermark; a
// read_committed one (IsolationLevel 1) below the last stable offset (no
// open transaction's records), and gets the aborted transactions of the
// range it reads (AbortedTransactions), so it can drop their records.
// Only read_committed fetches get that list: franz-go, given one on a
// read_uncommitted fetch, skips those records. LastStableOffset is filled
// in for every consumer.
//
// Through package replica consumers read below the leader's high watermark, CurrentLeaderEpoch is checked
// against the leader's (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH), and a
// follower's fetch (ReplicaID >= 0, ReplicaState from v15) reads up to the
// log end, reports its position to the leader's ISR, and gets a
// DivergingEpoch instead of data when its LastFetchedEpoch (v12+) shows
// its log left the leader's.
//
// Record data leaves as file ranges (FetchResponse.Ranges): the net.Conn
// transport sendfiles them from the segment files; gnet reads them once
// from the page cache (Materialize).
//
// Authorization (authorize.go): a follower's fetch needs CLUSTER_ACTION
// on the cluster, else every partition answers TOPIC_AUTHORIZATION_FAILED
// (Kafka's answer there, not CLUSTER_AUTHORIZATION_FAILED); a consumer
// needs READ on each topic, else its partitions answer
// TOPIC_AUTHORIZATION_FAILED before the topic is looked up (a consumer's
// topic id, v13+, that names no topic is UNKNOWN_TOPIC_ID first: there is
// no name to authorize).
//
// Quotas (quota.go): a consumer's fetch is bounded to what its
// consumer_byte_rate allows over the quota window; its answer's size
// counts against the quota and its time (less the long poll) against
// request_percentage; over either, the data is not sent: an empty answer
// carries ThrottleMillis and the connection is muted for it. Followers'
// fetches are exempt.

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/fetchsession"
	"github.com/rillmq/rill/replication/metadata"
	"github.com/rillmq/rill/replication/replica"
)

// FetchResponse is a Fetch answer whose record data may still be file
// ranges (Ranges) rather than bytes in RecordBatches: a transport that can
// sendfile writes the ranges straight from the segment files; any other
// calls Materialize first. Ranges are in encoding order.
type FetchResponse struct {
	*kmsg.FetchResponse
	Ranges []FetchRange
}

// FetchRange is the record data of Topics[Topic].Partitions[Partition].
type FetchRange struct {
	Topic, Partition int
	segment.FileRange
}

// Materialize reads every range into its partition's RecordBatches (one
// copy from the page cache).
func (r *FetchResponse) Materialize() error {
	for _, fr := range r.Ranges {
		data := make([]byte, fr.Len)
		n, err := fr.File.ReadAt(data, fr.Pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		r.Topics[fr.Topic].Partitions[fr.Partition].RecordBatches = data[:n]
	}
	r.Ranges = nil
	return nil
}

func (b *Broker) fetch(ctx context.Context, req *kmsg.FetchRequest) kmsg.Response {
	replicaID := req.ReplicaID
	if req.Version >= 15 {
		replicaID = req.ReplicaState.ID
	}
	follower := replicaID >= 0
	// Before v7 there are no sessions: every request is sessionless.
	sctx := fetchsession.Context{Kind: fetchsession.Sessionless}
	if req.Version >= 7 {
		sctx = b.openFetchSession(req, follower)
		if sctx.Kind == fetchsession.Error {
			resp := &FetchResponse{FetchResponse: req.ResponseKind().(*kmsg.FetchResponse)}
			answerFetchSession(resp, b.sessions.Respond(b.now(), &sctx, nil, true))
			return resp
		}
	}
	quotas := b.cfg.Quotas.AnyActive()
	if quotas {
		if bound, ok := b.fetchQuotaBytes(ctx, follower); ok {
			// Kafka's fetch bound under a quota: what the quota allows
			// over its window.
			bound = max(bound, 1)
			if req.MaxBytes <= 0 || int(req.MaxBytes) > bound {
				req.MaxBytes = int32(bound)
			}
			req.MinBytes = min(req.MinBytes, req.MaxBytes)
		}
	}
	resp := b.longPoll(ctx, req, quotas)
	results := fetchSessionResults(resp)
	if quotas {
		// The quota is charged for the answer as it would be sent, and a
		// throttled answer must leave the session as it was (Kafka's
		// rule): preview it, and commit only once it is not throttled.
		copied := *resp.FetchResponse // answerFetchSession replaces Topics, not its elements
		preview := FetchResponse{FetchResponse: &copied, Ranges: append([]FetchRange(nil), resp.Ranges...)}
		answerFetchSession(&preview, b.sessions.Respond(b.now(), &sctx, results, false))
		if throttled := b.throttleFetch(ctx, req, &preview, follower); throttled != &preview {
			if sctx.Kind == fetchsession.Incremental {
				throttled.SessionID = sctx.SessionID
			}
			return b.fetched(throttled, follower)
		}
	}
	answerFetchSession(resp, b.sessions.Respond(b.now(), &sctx, results, true))
	return b.fetched(resp, follower)
}

// longPoll reads until MinBytes are ready or MaxWaitMillis passes.
func (b *Broker) longPoll(ctx context.Context, req *kmsg.FetchRequest, quotas bool) *FetchResponse {
	ac := b.access(ctx)
	deadline := time.Now().Add(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	var timer *time.Timer
	tps := b.fetchPartitions(req)
	for {
		// Registered before reading, so no append is missed
		// (fetch_watch.go).
		fw := b.watch.register(tps)
		resp, size, failed := b.fetchOnce(ac, req)
		if size >= int(req.MinBytes) || failed || !time.Now().Before(deadline) ||
			(size > 0 && b.fetchOnOlderSegment(req, resp)) {
			b.watch.unregister(fw)
			return resp
		}
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
			defer timer.Stop()
		}
		var qc *QuotaConn
		var waitStart time.Time
		if quotas {
			qc, waitStart = quotaWaitStart(ctx) // the wait is not handling time
		}
		parked := metrics.Park(ctx, metrics.FetchPurgatory)
		select {
		case <-fw.ch:
		case <-timer.C:
		case <-ctx.Done():
			b.watch.unregister(fw)
			parked()
			return resp
		}
		b.watch.unregister(fw)
		parked()
		quotaWaited(qc, waitStart)
	}
}

// fetchPartitions are the partitions req reads, by name (a v13+ request
// names topics by id; unknown ones are left out: nothing wakes them).
func (b *Broker) fetchPartitions(req *kmsg.FetchRequest) []kafka.TopicPartition {
	var tps []kafka.TopicPartition
	for _, rt := range req.Topics {
		name := rt.Topic
		if req.Version >= 13 {
			t, ok := b.topicByID(rt.TopicID)
			if !ok {
				continue
			}
			name = t.Name
		}
		for _, rp := range rt.Partitions {
			tps = append(tps, kafka.TopicPartition{Topic: name, Partition: rp.Partition})
		}
	}
	return tps
}

// fetchOnce reads every requested partition once. failed reports a
// partition-level error, which ends the long poll as Kafka does.
func (b *Broker) fetchOnce(ac access, req *kmsg.FetchRequest) (*FetchResponse, int, bool) {
	resp := &FetchResponse{FetchResponse: req.ResponseKind().(*kmsg.FetchResponse)}
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = int(^uint32(0) >> 1)
	}
	total, failed, gotData := 0, false, false
	replicaID := req.ReplicaID
	if req.Version >= 15 {
		replicaID = req.ReplicaState.ID
	}
	followerDenied := replicaID >= 0 && !ac.cluster(authz.OpClusterAction)
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		var t metadata.Topic
		var ok bool
		if req.Version >= 13 {
			t, ok = b.topicByID(rt.TopicID)
		} else {
			t, ok = b.topic(rt.Topic)
		}
		name := rt.Topic
		if req.Version >= 13 {
			name = t.Name
		}
		denied := replicaID < 0 && (ok || req.Version < 13) && !ac.topic(authz.OpRead, name)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.PreferredReadReplica = -1
			// Empty, not null: Kafka sends a zero-length record set, and
			// librdkafka rejects a null one.
			sp.RecordBatches = []byte{}
			var code *kerr.Error
			switch {
			case followerDenied:
				code = errTopicDenied
			case !ok && req.Version >= 13:
				code = kerr.UnknownTopicID
			case denied:
				code = errTopicDenied
			default:
				var r segment.FileRange
				r, code = b.readPartition(rt.Topic, t, ok, replicaID, req.IsolationLevel == 1, rp, &sp, min(int(rp.PartitionMaxBytes), budget), !gotData)
				n := int(r.Len)
				if n > 0 {
					resp.Ranges = append(resp.Ranges, FetchRange{Topic: len(resp.Topics), Partition: len(st.Partitions), FileRange: r})
				}
				budget -= n
				total += n
				gotData = gotData || n > 0
			}
			if code != nil {
				sp.ErrorCode = code.Code
				failed = true
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total, failed
}

// readPartition fills sp's offsets and returns the file range of up to
// maxBytes of data from rp.FetchOffset. Consumers (replicaID -1) read below
// the high watermark; in a cluster a follower reads up to the log end, and
// its fetch offset is its log end for the leader's ISR.
func (b *Broker) readPartition(name string, t metadata.Topic, known bool, replicaID int32, readCommitted bool, rp kmsg.FetchRequestTopicPartition, sp *kmsg.FetchResponseTopicPartition, maxBytes int, minOne bool) (segment.FileRange, *kerr.Error) {
	l, code := b.partitionLog(name, t, known, rp.Partition)
	if code != nil {
		return segment.FileRange{}, code
	}
	rep, code := b.replicaOf(t.Name, rp.Partition)
	if code != nil {
		return segment.FileRange{}, code
	}
	// A follower reads up to the log end and learns the high watermark;
	// a consumer reads below the high watermark.
	var hw, limit int64 = 0, -1
	var err error
	if replicaID >= 0 {
		var div *replica.Diverging
		hw, div, err = rep.FollowerFetch(replicaID, rp.FetchOffset, rp.LastFetchedEpoch, rp.CurrentLeaderEpoch)
		if err == nil && div != nil {
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hw, hw, l.LogStartOffset()
			sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = div.Epoch, div.EndOffset
			if div.EndOffset < 0 {
				// The leader has no epoch that old: the follower keeps
				// what is committed. A non-default value, so it is sent.
				sp.DivergingEpoch.EndOffset = l.LogStartOffset()
			}
			return segment.FileRange{}, nil
		}
	} else if err = rep.CheckEpoch(rp.CurrentLeaderEpoch); err == nil {
		hw, err = rep.HighWatermark()
		limit = hw
	}
	if err != nil {
		return segment.FileRange{}, toKerr(err)
	}
	lso := hw
	if replicaID < 0 {
		lso = l.LastStableOffset(hw)
		if readCommitted {
			limit = lso
		}
	}
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hw, lso, l.LogStartOffset()
	if maxBytes <= 0 && !minOne {
		return segment.FileRange{}, nil
	}
	r, err := l.Read(rp.FetchOffset, max(maxBytes, 0), limit, minOne)
	if err != nil {
		return segment.FileRange{}, toKerr(err)
	}
	if readCommitted && replicaID < 0 && r.Len > 0 {
		// Every aborted transaction that overlaps what can be read: the
		// client drops those producers' records until their markers. The
		// range may reach past the data returned, which clients ignore.
		aborted, err := l.ReadAbortedTransactions(rp.FetchOffset, limit)
		if err != nil {
			return segment.FileRange{}, kerr.KafkaStorageError
		}
		for _, a := range aborted {
			at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
			at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
			sp.AbortedTransactions = append(sp.AbortedTransactions, at)
		}
		if sp.AbortedTransactions == nil {
			sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
		}
	}
	return r, nil
}
