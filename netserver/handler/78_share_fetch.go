package handler

// ShareFetch (key 78), v1-v2 (KIP-932; v2 adds ShareAcquireMode, KIP-1206,
// and IsRenewAck, KIP-1222).
//
// A share-group member reads the partitions of its share session and gets,
// per partition, record batches and the offset ranges it acquired in them
// (AcquiredRecords, with their delivery counts); the records outside those
// ranges are not its to process. Acquired records are locked to the member
// for the group's share.record.lock.duration.ms
// (AcquisitionLockTimeoutMillis); acknowledgements (piggybacked here, or
// ShareAcknowledge) accept, release or reject them.
//
// Sessions (package sharesession): epoch 0 opens the member's session on
// this broker with the request's partitions (acknowledgements with it are
// INVALID_REQUEST); a later epoch must be the one the session expects
// (SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH), adds the
// request's partitions and drops ForgottenTopicsData; -1 applies the
// acknowledgements, releases what the member holds on the session's
// partitions and closes it. A session ends with its connection too, and
// the member's records are released.
//
// Order: acknowledgements first (each partition's AcknowledgeErrorCode),
// written to the share coordinator before the answer; then, unless
// IsRenewAck (acknowledgements only, every fetch limit 0), records are
// acquired from the session's partitions, at most MaxRecords in all (500
// when 0): whole batches (batch-optimized, the last batch may pass
// MaxRecords, acquired ranges split into BatchSize pieces) or exactly
// MaxRecords (record-limit: ShareAcquireMode 1, or the group config
// share.acquire.mode=record_limit), within MaxBytes. With
// nothing acquired the answer waits up to MaxWaitMillis for records to
// arrive or be released. Partitions start at a rotating index so a small
// MaxRecords does not starve the last ones.
//
// Errors per partition: UNKNOWN_TOPIC_ID, TOPIC_AUTHORIZATION_FAILED
// (READ on the topic), NOT_LEADER_OR_FOLLOWER with the leader in
// CurrentLeader and NodeEndpoints. Top level: GROUP_AUTHORIZATION_FAILED
// (READ on the group), INVALID_REQUEST for a missing group or member id
// (Kafka does not check membership here: share partitions are served to
// any member id, as Kafka's leader does).

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharepart"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/sharesession"
)

// defaultShareMaxRecords is Kafka's share.max.poll.records default, for a
// request that sets none.
const defaultShareMaxRecords = 500

func (b *Broker) shareFetch(ctx context.Context, req *kmsg.ShareFetchRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ShareFetchResponse)
	group, member := derefString(req.GroupID), derefString(req.MemberID)
	ac := b.access(ctx)
	resp.AcquisitionLockTimeoutMillis = int32(b.sharePartConfig(group).LockDuration / time.Millisecond)
	fail := func(e *kerr.Error, msg string) kmsg.Response {
		resp.ErrorCode = e.Code
		if msg != "" {
			resp.ErrorMessage = kmsg.StringPtr(msg)
		}
		return resp
	}
	if !b.shareGroupsEnabled() {
		return fail(kerr.UnsupportedVersion, "share groups are off (share.version 0)")
	}
	if !ac.group(authz.OpRead, group) {
		return fail(errGroupDenied, "")
	}
	if group == "" || member == "" || len(member) > 36 {
		return fail(kerr.InvalidRequest, "a share fetch needs a group id and a member id of at most 36 characters")
	}
	if req.Version >= 2 && req.ShareAcquireMode != 0 && req.ShareAcquireMode != 1 {
		return fail(kerr.InvalidRequest, "ShareAcquireMode is 0 (batch-optimized) or 1 (record-limit)")
	}
	renew := req.Version >= 2 && req.IsRenewAck
	if renew && (req.MaxBytes != 0 || req.MinBytes != 0 || req.MaxRecords != 0 || req.MaxWaitMillis != 0) {
		return fail(kerr.InvalidRequest, "a renew acknowledgement fetches nothing: its fetch limits must be 0")
	}
	var asked, forget []sharesession.Partition
	hasAcks := false
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			asked = append(asked, sharesession.Partition{TopicID: t.TopicID, Partition: p.Partition})
			hasAcks = hasAcks || len(p.AcknowledgementBatches) > 0
			if renew && len(p.AcknowledgementBatches) == 0 {
				return fail(kerr.InvalidRequest, "a renew acknowledgement carries only acknowledgements")
			}
		}
	}
	for _, t := range req.ForgottenTopicsData {
		for _, p := range t.Partitions {
			forget = append(forget, sharesession.Partition{TopicID: t.TopicID, Partition: p})
		}
	}
	key := sharesession.Key{Group: group, Member: member}
	out := newShareFetchAnswer(resp)
	var session map[sharesession.Partition]struct{}
	switch req.ShareSessionEpoch {
	case -1:
		parts, err := b.shareSessions.Close(key)
		if err != nil {
			return fail(toKerr(err), "")
		}
		b.shareAcks(ctx, ac, group, member, req.Topics, renew, out.ackResult)
		b.shareRelease(group, member, parts)
		return resp
	case 0:
		if hasAcks {
			return fail(kerr.InvalidRequest, "a share session's first fetch (epoch 0) cannot acknowledge")
		}
		conn := connToken(ctx)
		replaced, err := b.shareSessions.Open(key, conn, asked)
		if replaced != nil {
			b.shareRelease(group, member, replaced)
		}
		if err != nil {
			if errors.Is(err, kerr.ShareSessionLimitReached) {
				// As Kafka: the refusal waits out MaxWait, so a client
				// retrying at once does not spin.
				waitCtx(ctx, time.Duration(max(req.MaxWaitMillis, 0))*time.Millisecond)
			}
			return fail(toKerr(err), "")
		}
		b.watchShareConn(ctx, conn)
		session = map[sharesession.Partition]struct{}{}
		for _, p := range asked {
			session[p] = struct{}{}
		}
	default:
		s, err := b.shareSessions.Advance(key, req.ShareSessionEpoch, asked, forget)
		if err != nil {
			return fail(toKerr(err), "")
		}
		// Forgotten partitions keep what the member holds there, as
		// Kafka: kgo forgets a partition in the same request that
		// acknowledges its records, and a paused partition's records
		// are still the member's to finish. Their locks lapse if not.
		session = s.Partitions
	}
	b.shareAcks(ctx, ac, group, member, req.Topics, renew, out.ackResult)
	if renew {
		out.ackLeaders(b)
		out.endpoints(b, ListenerOf(ctx))
		return resp
	}
	b.shareAcquireAll(ctx, ac, req, group, member, session, out)
	out.ackLeaders(b)
	out.endpoints(b, ListenerOf(ctx))
	return resp
}

// shareAcquireAll acquires records from the session's partitions into
// out, waiting up to MaxWaitMillis while nothing could be acquired.
func (b *Broker) shareAcquireAll(ctx context.Context, ac access, req *kmsg.ShareFetchRequest, group, member string, session map[sharesession.Partition]struct{}, out *shareFetchAnswer) {
	parts := make([]sharesession.Partition, 0, len(session))
	for p := range session {
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(x, y sharesession.Partition) int {
		if c := slices.Compare(x.TopicID[:], y.TopicID[:]); c != 0 {
			return c
		}
		return cmp.Compare(x.Partition, y.Partition)
	})
	if n := len(parts); n > 1 {
		k := int(uint32(req.ShareSessionEpoch) % uint32(n))
		parts = append(parts[k:], parts[:k]...)
	}
	maxRecords := int(req.MaxRecords)
	if maxRecords <= 0 {
		maxRecords = defaultShareMaxRecords
	}
	// Record-limit mode when the fetch asks for it (v2) or its group is
	// set to it (share.acquire.mode=record_limit, for v1 clients).
	strict := (req.Version >= 2 && req.ShareAcquireMode == 1) || b.groupConfig(group)["share.acquire.mode"] == "record_limit"
	batchSize := 0
	if !strict && req.BatchSize > 0 {
		batchSize = int(req.BatchSize)
	}
	budget := int(req.MaxBytes)
	if budget <= 0 {
		budget = int(^uint32(0) >> 1)
	}
	readCommitted := b.groupConfig(group)["share.isolation.level"] == "read_committed"
	deadline := time.Now().Add(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	var timer *time.Timer
	fresh := req.ShareSessionEpoch == 0 // a session opened: check cached state once
	rechecked := false
	for {
		var tps []kafka.TopicPartition
		records := 0
		for _, p := range parts {
			if records >= maxRecords {
				break
			}
			t, ok := b.topicByID(p.TopicID)
			if !ok {
				out.partition(p).ErrorCode = kerr.UnknownTopicID.Code
				continue
			}
			if !ac.topic(authz.OpRead, t.Name) {
				out.partition(p).ErrorCode = errTopicDenied.Code
				continue
			}
			if p.Partition < 0 || p.Partition >= t.Partitions {
				out.partition(p).ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			tp := kafka.TopicPartition{Topic: t.Name, Partition: p.Partition}
			if code := b.leaderHere(tp.Topic, tp.Partition); code != nil {
				out.notLeader(b, p, tp, code)
				continue
			}
			tps = append(tps, tp)
			sp, code := b.shares.get(ctx, shareKey{group, p.TopicID, p.Partition}, tp, fresh)
			if code != nil {
				out.partition(p).ErrorCode = code.Code
				continue
			}
			data, acq, code := sp.acquire(member, maxRecords-records, strict, budget, readCommitted)
			if code != nil {
				out.partition(p).ErrorCode = code.Code
				continue
			}
			if len(acq) == 0 {
				continue
			}
			rp := out.partition(p)
			rp.Records = data
			for _, a := range splitAcquired(acq, batchSize) {
				r := kmsg.NewShareFetchResponseTopicPartitionAcquiredRecord()
				r.FirstOffset, r.LastOffset, r.DeliveryCount = a.First, a.Last, a.DeliveryCount
				rp.AcquiredRecords = append(rp.AcquiredRecords, r)
				records += int(a.Last - a.First + 1)
			}
			budget -= len(data)
		}
		fresh = false
		// A partition that failed is answered with its error but does
		// not end the wait for the others (as Kafka's delayed share
		// fetch); only when none is left to wait on.
		if records > 0 || len(tps) == 0 || !time.Now().Before(deadline) {
			return
		}
		// Nothing to hand out: wait for a produce, a high-watermark move
		// or a release on one of the partitions (fetch_watch.go). The
		// watch is registered before the next read, so nothing is missed
		// between this read and the wait.
		fw := b.watch.register(tps)
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
			defer timer.Stop()
		}
		if !rechecked && b.shareReady(group, parts, readCommitted) {
			// Something changed between the read and the watch: read
			// again, once; if that finds nothing either, wait.
			b.watch.unregister(fw)
			rechecked = true
			continue
		}
		rechecked = false
		parked := metrics.Park(ctx, metrics.FetchPurgatory)
		select {
		case <-fw.ch:
		case <-timer.C:
			b.watch.unregister(fw)
			parked()
			return
		case <-ctx.Done():
			b.watch.unregister(fw)
			parked()
			return
		}
		parked()
	}
}

// shareReady reports whether a share partition of the session has
// records to acquire now (checked after registering the watch, so a
// change between the last read and the registration is not missed).
func (b *Broker) shareReady(group string, parts []sharesession.Partition, readCommitted bool) bool {
	for _, p := range parts {
		sp := b.shares.loaded(shareKey{group, p.TopicID, p.Partition})
		if sp == nil {
			continue
		}
		rep, code := b.replicaOf(sp.tp.Topic, sp.tp.Partition)
		if code != nil {
			continue
		}
		hw, err := rep.HighWatermark()
		if err != nil {
			continue
		}
		limit := hw
		if readCommitted {
			limit = rep.Log().LastStableOffset(hw) // what acquire reads up to
		}
		sp.mu.Lock()
		ready := !sp.dropped && sp.sm.CanAcquire() && sp.sm.FetchOffset() < limit
		sp.mu.Unlock()
		if ready {
			return true
		}
	}
	return false
}

// splitAcquired cuts acquired ranges into pieces of at most size records
// (batch-optimized ShareFetch's BatchSize); size 0 keeps them.
func splitAcquired(acq []sharepart.Acquired, size int) []sharepart.Acquired {
	if size <= 0 {
		return acq
	}
	var out []sharepart.Acquired
	for _, a := range acq {
		for first := a.First; first <= a.Last; first += int64(size) {
			out = append(out, sharepart.Acquired{First: first, Last: min(first+int64(size)-1, a.Last), DeliveryCount: a.DeliveryCount})
		}
	}
	return out
}
