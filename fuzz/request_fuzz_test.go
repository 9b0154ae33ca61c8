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
	txnCommit := kmsg.NewPtrTxnOffsetCommitRequest()
	txnCommit.TransactionalID, txnCommit.Group, txnCommit.Generation = "tx", "g", -1
	txnCommit.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 3}}}}
	descTxn := kmsg.NewPtrDescribeTransactionsRequest()
	descTxn.TransactionalIDs = []string{"tx"}
	descProd := kmsg.NewPtrDescribeProducersRequest()
	descProd.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
	for _, s := range []struct {
		req kmsg.Request
		v   int16
	}{{fcTxn, 3}, {fcTxn, 4}, {initTxn, 3}, {addParts, 3}, {addParts, 4}, {addOffsets, 3}, {endTxn, 3}, {markers, 1},
		{txnCommit, 3}, {descTxn, 0}, {kmsg.NewPtrListTransactionsRequest(), 1}, {descProd, 0}} {
		f.Add(frame(s.req, s.v))
	}
	for _, s := range []struct {
		req kmsg.Request
		v   int16
	}{{fc, 1}, {fc, 4}, {join, 3}, {join, 5}, {join, 9}, {sync, 3}, {sync, 5}, {hb, 3}, {leave, 1}, {leave, 4},
		{commit, 2}, {commit, 8}, {fetchOffsets, 5}, {fetchOffsets, 8}, {describe, 4}, {kmsg.NewPtrListGroupsRequest(), 4},
		{delGroups, 2}, {delOffsets, 0},
		{produce, 3}, {produce, 9}, {fetch, 4}, {fetch, 12}, {meta, 1}, {meta, 12}, {lo, 1}, {lo, 7},
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
