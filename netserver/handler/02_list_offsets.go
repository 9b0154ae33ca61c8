package handler

// ListOffsets (key 2), v1-v8.
//
// Timestamp -1 (latest) answers the high watermark (the last stable offset
// for read_committed, IsolationLevel 1), -2 (earliest) and -4
// (earliest local) the log start offset, -3 (max timestamp, v7+) the offset
// and timestamp of the record with the largest timestamp; any other
// timestamp answers the first offset whose record timestamp is >= it, or
// offset -1 and timestamp -1 when there is none, as Kafka does. The leader
// epoch is 0; a CurrentLeaderEpoch above 0 is UNKNOWN_LEADER_EPOCH.
//
// Authorization: DESCRIBE on each topic, else its partitions answer
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) listOffsets(ctx context.Context, req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	ac := b.access(ctx)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t, ok := b.topic(rt.Topic)
		allowed := ac.topic(authz.OpDescribe, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, 0
			code := func() *kerr.Error {
				if !allowed {
					return errTopicDenied
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
				default:
					if rp.Timestamp < 0 {
						return kerr.InvalidRequest
					}
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
