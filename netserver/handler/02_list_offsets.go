package handler

// ListOffsets (key 2), v1-v11.
//
// Timestamp -1 (latest) answers the high watermark (the last stable offset
// for read_committed, IsolationLevel 1), -2 (earliest) and -4
// (earliest local, v8+) the log start offset, -3 (max timestamp, v7+) the
// offset and timestamp of the record with the largest timestamp; any other
// timestamp answers the first offset whose record timestamp is >= it, or
// offset -1 and timestamp -1 when there is none, as Kafka does. The leader
// epoch is the partition's; a CurrentLeaderEpoch other than it is
// FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
//
// Rill has no tiered storage, so -5 (latest tiered offset, v9+, KIP-1005)
// and -6 (earliest pending upload offset, v11+, KIP-1023) answer what
// Kafka answers for a topic without remote storage: offset -1, timestamp
// -1, leader epoch -1 (UnifiedLog.fetchOffsetByTimestamp). v10's
// TimeoutMillis bounds Kafka's wait for remote reads; there are none here.
// As Kafka's ReplicaManager.fetchOffset: a special timestamp below the
// version that added it, or any other negative one, is UNSUPPORTED_VERSION
// for its partition, and a partition listed twice is answered once, with
// INVALID_REQUEST.
//
// Authorization: DESCRIBE on each topic, else its partitions answer
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) listOffsets(ctx context.Context, req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	ac := b.access(ctx)
	duplicates := listOffsetsDuplicates(req)
	answered := map[kafka.TopicPartition]bool{}
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t, ok := b.topic(rt.Topic)
		allowed := ac.topic(authz.OpDescribe, rt.Topic)
		for _, rp := range rt.Partitions {
			tp := kafka.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
			if allowed && duplicates[tp] {
				if answered[tp] {
					continue // Kafka answers a partition once
				}
				answered[tp] = true
			}
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1 // Kafka's error answer
			code := func() *kerr.Error {
				if !allowed {
					return errTopicDenied
				}
				if duplicates[tp] {
					return kerr.InvalidRequest
				}
				if !listOffsetsTimestampSupported(rp.Timestamp, req.Version) {
					return kerr.UnsupportedVersion
				}
				l, code := b.partitionLog(rt.Topic, t, ok, rp.Partition)
				if code != nil {
					return code
				}
				rep, code := b.replicaOf(rt.Topic, rp.Partition)
				if code != nil {
					return code
				}
				if err := rep.CheckEpoch(rp.CurrentLeaderEpoch); err != nil {
					return toKerr(err)
				}
				end, err := rep.HighWatermark()
				if err != nil {
					return toKerr(err)
				}
				if req.IsolationLevel == 1 {
					end = l.LastStableOffset(end) // read_committed: no open transaction's records
				}
				sp.LeaderEpoch = rep.LeaderEpoch()
				switch rp.Timestamp {
				case -1:
					sp.Offset = end
				case -2, -4:
					sp.Offset = l.LogStartOffset()
				case -3:
					sp.Timestamp, sp.Offset = l.MaxTimestamp()
				case -5, -6:
					// Nothing is tiered: Kafka's answer without remote
					// storage.
					sp.Offset, sp.LeaderEpoch = -1, -1
				default:
					off, ts, found, err := l.OffsetForTimestamp(rp.Timestamp)
					if err != nil {
						return toKerr(err)
					}
					if found {
						sp.Offset, sp.Timestamp = off, ts
					}
				}
				return nil
			}()
			if code != nil {
				sp.ErrorCode = code.Code
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// listOffsetsMinVersion is the first version of each special timestamp
// (Kafka's ReplicaManager.timestampMinSupportedVersion).
var listOffsetsMinVersion = map[int64]int16{-1: 1, -2: 1, -3: 7, -4: 8, -5: 9, -6: 11}

// listOffsetsTimestampSupported reports whether version may ask for ts:
// any time at or after the epoch, or a special value from its version on.
func listOffsetsTimestampSupported(ts int64, version int16) bool {
	if ts >= 0 {
		return true
	}
	v, ok := listOffsetsMinVersion[ts]
	return ok && version >= v
}

// listOffsetsDuplicates are the partitions req lists more than once.
func listOffsetsDuplicates(req *kmsg.ListOffsetsRequest) map[kafka.TopicPartition]bool {
	seen := map[kafka.TopicPartition]bool{}
	var dup map[kafka.TopicPartition]bool
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			tp := kafka.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
			if seen[tp] {
				if dup == nil {
					dup = map[kafka.TopicPartition]bool{}
				}
				dup[tp] = true
			}
			seen[tp] = true
		}
	}
	return dup
}
