package fuzz

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/wire"
)

// frame encodes req as a client would (header v1/v2 plus body), without
// the size prefix.
func frame(req kmsg.Request, version int16) []byte {
	req.SetVersion(version)
	b := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 42)
	b = append(b, 0, 4, 'f', 'u', 'z', 'z')
	if req.IsFlexible() {
		b = append(b, 0)
	}
	return req.AppendTo(b)
}

func seedRequests(f *testing.F) {
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks = -1
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "t"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = format.SimpleBatch(format.CodecZstd, 1, nil, [][]byte{[]byte("v")})
	pt.Partitions = append(pt.Partitions, pp)
	produce.Topics = append(produce.Topics, pt)
	fetch := kmsg.NewPtrFetchRequest()
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fetch.MaxBytes = 1 << 20
	meta := kmsg.NewPtrMetadataRequest()
	meta.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "t"
	lt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1, CurrentLeaderEpoch: -1}}
	lo.Topics = append(lo.Topics, lt)
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "new", NumPartitions: -1, ReplicationFactor: -1}}
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
	for _, s := range []struct {
		req kmsg.Request
		v   int16
	}{{produce, 3}, {produce, 9}, {fetch, 4}, {fetch, 12}, {meta, 1}, {meta, 12}, {lo, 1}, {lo, 7},
		{ct, 2}, {ct, 5}, {dc, 3}, {kmsg.NewPtrApiVersionsRequest(), 3}, {kmsg.NewPtrInitProducerIDRequest(), 4}} {
		f.Add(frame(s.req, s.v))
	}
}

// FuzzRequest drives arbitrary request frames through the header parser,
// the kmsg decoders and the broker's handlers (on an in-memory engine), and
// encodes whatever comes back. Nothing may panic; a frame that does not
// parse must be reported as malformed, which the server turns into closing
// that connection.
func FuzzRequest(f *testing.F) {
	seedRequests(f)
	b, closeBroker, err := handler.NewInMemory(map[string]int32{"t": 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { closeBroker() })
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := wire.Parse(data)
		if err != nil {
			return
		}
		if req.Msg == nil || !handler.Supports(req.Key, req.Version) {
			return
		}
		if fr, ok := req.Msg.(*kmsg.FetchRequest); ok {
			fr.MaxWaitMillis = min(fr.MaxWaitMillis, 5)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if resp := b.Handle(ctx, req); resp != nil {
			out := wire.AppendResponse(nil, req.CorrelationID, resp)
			if int(binary.BigEndian.Uint32(out)) != len(out)-4 {
				t.Fatal("response frame size is wrong")
			}
		}
	})
}
