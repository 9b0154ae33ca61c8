package handler

// DeleteRecords (key 21), v0-v2.
//
// Moves each partition's log start offset to Offset (-1 means the high
// watermark) and drops the segments wholly below it. An offset past the
// high watermark is OFFSET_OUT_OF_RANGE. LowWatermark answers the new log
// start offset. Authorization: DELETE on each topic, else its partitions
// answer TOPIC_AUTHORIZATION_FAILED (before the topic is looked up).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) deleteRecords(ctx context.Context, req *kmsg.DeleteRecordsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	ac := b.access(ctx)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		t, ok := b.topic(rt.Topic)
		allowed := ac.topic(authz.OpDelete, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			code := func() *kerr.Error {
				if !allowed {
					return errTopicDenied
				}
				l, code := b.partitionLog(rt.Topic, t, ok, rp.Partition)
				if code != nil {
					return code
				}
				offset := rp.Offset
				if offset == -1 {
					offset = l.LogEndOffset()
				}
				if offset < 0 || offset > l.LogEndOffset() {
					return kerr.OffsetOutOfRange
				}
				lso, err := l.DeleteRecords(offset)
				if err != nil {
					return toKerr(err)
				}
				sp.LowWatermark = lso
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
