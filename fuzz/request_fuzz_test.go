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
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey, fc.CoordinatorKeys = "g", []string{"g", "h"}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "g", 10000, 10000, "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}}}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID = "g", "m"
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group = "g"
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = "g", "m"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "g", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: 5}}}}
	fetchOffsets := kmsg.NewPtrOffsetFetchRequest()
	fetchOffsets.Group = "g"
	fetchOffsets.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Groups = []string{"g", "nope"}
	delGroups := kmsg.NewPtrDeleteGroupsRequest()
	delGroups.Groups = []string{"g"}
	delOffsets := kmsg.NewPtrOffsetDeleteRequest()
	delOffsets.Group = "g"
	delOffsets.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	// Transactions.
	fcTxn := kmsg.NewPtrFindCoordinatorRequest()
	fcTxn.CoordinatorType, fcTxn.CoordinatorKey, fcTxn.CoordinatorKeys = 1, "tx", []string{"tx"}
	initTxn := kmsg.NewPtrInitProducerIDRequest()
	initTxn.TransactionalID, initTxn.TransactionTimeoutMillis = kmsg.StringPtr("tx"), 60000
	addParts := kmsg.NewPtrAddPartitionsToTxnRequest()
	addParts.TransactionalID = "tx"
	addParts.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
	addParts.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{{TransactionalID: "tx", VerifyOnly: true,
		Topics: []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "t", Partitions: []int32{0}}}}}
	addOffsets := kmsg.NewPtrAddOffsetsToTxnRequest()
	addOffsets.TransactionalID, addOffsets.Group = "tx", "g"
	endTxn := kmsg.NewPtrEndTxnRequest()
	endTxn.TransactionalID, endTxn.Commit = "tx", true
	markers := kmsg.NewPtrWriteTxnMarkersRequest()
	markers.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 1, Committed: true,
		Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{0}}}}}
	// v2 (KIP-1228): a TV2 marker, checked against the producer's epoch.
	markersV2 := kmsg.NewPtrWriteTxnMarkersRequest()
	markersV2.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 1, ProducerEpoch: 1, TransactionVersion: 2,
		Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{0, 1}}}}}
	txnCommit := kmsg.NewPtrTxnOffsetCommitRequest()
	txnCommit.TransactionalID, txnCommit.Group, txnCommit.Generation = "tx", "g", -1
	txnCommit.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 3}}}}
	descTxn := kmsg.NewPtrDescribeTransactionsRequest()
	descTxn.TransactionalIDs = []string{"tx"}
	descProd := kmsg.NewPtrDescribeProducersRequest()
	descProd.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
	// Share groups: a member joins, fetches (a zero topic id stands for
	// topic t, FuzzRequest swaps it in), acknowledges, and the offsets.
	shb := kmsg.NewPtrShareGroupHeartbeatRequest()
	shb.GroupID, shb.MemberID, shb.SubscribedTopicNames = "sg", "m", []string{"t"}
	sf := kmsg.NewPtrShareFetchRequest()
	sf.GroupID, sf.MemberID, sf.MaxBytes, sf.MaxRecords = kmsg.StringPtr("sg"), kmsg.StringPtr("m"), 1<<20, 10
	sf.Topics = []kmsg.ShareFetchRequestTopic{{Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}, {Partition: 1}}}}
	sfAck := kmsg.NewPtrShareFetchRequest()
	sfAck.GroupID, sfAck.MemberID, sfAck.ShareSessionEpoch = kmsg.StringPtr("sg"), kmsg.StringPtr("m"), 1
	sfAck.Topics = []kmsg.ShareFetchRequestTopic{{Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0,
		AcknowledgementBatches: []kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch{{FirstOffset: 0, LastOffset: 2, AcknowledgeTypes: []int8{1, 2, 3}}}}}}}
	sa := kmsg.NewPtrShareAcknowledgeRequest()
	sa.GroupID, sa.MemberID, sa.ShareSessionEpoch = kmsg.StringPtr("sg"), kmsg.StringPtr("m"), 2
	sa.Topics = []kmsg.ShareAcknowledgeRequestTopic{{Partitions: []kmsg.ShareAcknowledgeRequestTopicPartition{{Partition: 1,
		AcknowledgementBatches: []kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch{{FirstOffset: 0, LastOffset: 0, AcknowledgeTypes: []int8{4}}}}}}}
	dso := kmsg.NewPtrDescribeShareGroupOffsetsRequest()
	dso.Groups = []kmsg.DescribeShareGroupOffsetsRequestGroup{{GroupID: "sg"}, {GroupID: "sg", Topics: []kmsg.DescribeShareGroupOffsetsRequestGroupTopic{{Topic: "t", Partitions: []int32{0, 9}}}}}
	aso := kmsg.NewPtrAlterShareGroupOffsetsRequest()
	aso.GroupID = "sg"
	aso.Topics = []kmsg.AlterShareGroupOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.AlterShareGroupOffsetsRequestTopicPartition{{Partition: 0, StartOffset: 1}}}}
	delso := kmsg.NewPtrDeleteShareGroupOffsetsRequest()
	delso.GroupID = "sg"
	delso.Topics = []kmsg.DeleteShareGroupOffsetsRequestTopic{{Topic: "t"}}
	for _, s := range []struct {
		req kmsg.Request
		v   int16
	}{{shb, 1}, {sf, 1}, {sf, 2}, {sfAck, 2}, {sa, 2}, {dso, 1}, {aso, 0}, {delso, 0}} {
		f.Add(frame(s.req, s.v))
	}
	for _, s := range []struct {
		req kmsg.Request
		v   int16
	}{{fcTxn, 3}, {fcTxn, 4}, {initTxn, 3}, {addParts, 3}, {addParts, 4}, {addOffsets, 3}, {endTxn, 3}, {markers, 1}, {markersV2, 2},
		{txnCommit, 3}, {descTxn, 0}, {kmsg.NewPtrListTransactionsRequest(), 1}, {descProd, 0}} {
		f.Add(frame(s.req, s.v))
	}
	for _, s := range []struct {
		req kmsg.Request
		v   int16
	}{{fc, 1}, {fc, 4}, {join, 3}, {join, 5}, {join, 9}, {sync, 3}, {sync, 5}, {hb, 3}, {leave, 1}, {leave, 4},
		{commit, 2}, {commit, 8}, {fetchOffsets, 5}, {fetchOffsets, 8}, {describe, 4}, {kmsg.NewPtrListGroupsRequest(), 4},
		{delGroups, 2}, {delOffsets, 0},
		{produce, 3}, {produce, 6}, {produce, 7}, {produce, 9}, // zstd: refused below v7 {fetch, 4}, {fetch, 12}, {meta, 1}, {meta, 12}, {lo, 1}, {lo, 7},
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
	topicID := topicIDOf(f, b, "t")
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := wire.Parse(data)
		if err != nil {
			return
		}
		if req.Msg == nil || !handler.Supports(req.Key, req.Version) {
			return
		}
		switch r := req.Msg.(type) {
		case *kmsg.CreateTopicsRequest:
			// The broker refuses more than handler.MaxTopicPartitions;
			// below that, creating a topic of a million partitions in
			// memory is what it should do, and too slow for a fuzz run.
			for i := range r.Topics {
				if n := r.Topics[i].NumPartitions; n > 64 && n <= handler.MaxTopicPartitions {
					r.Topics[i].NumPartitions = 64
				}
			}
		case *kmsg.CreatePartitionsRequest:
			for i := range r.Topics {
				if n := r.Topics[i].Count; n > 64 && n <= handler.MaxTopicPartitions {
					r.Topics[i].Count = 64
				}
			}
		case *kmsg.FetchRequest:
			r.MaxWaitMillis = min(r.MaxWaitMillis, 5)
		case *kmsg.ShareFetchRequest:
			r.MaxWaitMillis = min(r.MaxWaitMillis, 5)
			for i := range r.Topics {
				if r.Topics[i].TopicID == ([16]byte{}) {
					r.Topics[i].TopicID = topicID
				}
			}
		case *kmsg.ShareAcknowledgeRequest:
			for i := range r.Topics {
				if r.Topics[i].TopicID == ([16]byte{}) {
					r.Topics[i].TopicID = topicID
				}
			}
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

// topicIDOf is a topic's id as the broker's Metadata answers it.
func topicIDOf(f *testing.F, b *handler.Broker, topic string) [16]byte {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}
	parsed, err := wire.Parse(frame(req, 12))
	if err != nil {
		f.Fatal(err)
	}
	resp, ok := b.Handle(context.Background(), parsed).(*kmsg.MetadataResponse)
	if !ok || len(resp.Topics) != 1 {
		f.Fatalf("metadata of %s: %v", topic, resp)
	}
	return resp.Topics[0].TopicID
}
