package handler

// The API table: every API key we serve, the versions we serve it at and
// its handler, in one list. ApiVersions advertises it (apiKeys), Supports
// checks against it and Handle dispatches through it, so an advertised key
// always has a handler. A new API is one row here and one NN_name.go file.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/wire"
)

// api is one row: key, served versions [min, max] and the handler.
type api struct {
	key, min, max int16
	handle        handleFunc
}

// handleFunc answers one request; req.Msg is the key's kmsg request type.
type handleFunc func(b *Broker, ctx context.Context, req *wire.Request) kmsg.Response

// apis holds Kafka 4.x ranges where we implement them, older versions kept
// where clients still send them. init caps max at what kmsg can decode.
var apis = []api{
	{0, 3, 13, withCtx((*Broker).produce)},                     // Produce (v3+: record batch v2; zstd from v7; v12: KIP-890 part 2; v13: topic ids)
	{1, 4, 18, withCtx((*Broker).fetch)},                       // Fetch
	{2, 1, 11, withCtx((*Broker).listOffsets)},                 // ListOffsets
	{3, 0, 13, withCtx((*Broker).metadata)},                    // Metadata
	{8, 2, 10, withCtx((*Broker).offsetCommit)},                // OffsetCommit
	{9, 1, 10, withCtx((*Broker).offsetFetch)},                 // OffsetFetch
	{10, 0, 6, withCtx((*Broker).findCoordinator)},             // FindCoordinator
	{11, 0, 9, withCtxWire((*Broker).joinGroup)},               // JoinGroup
	{12, 0, 4, withCtx((*Broker).heartbeat)},                   // Heartbeat
	{13, 0, 5, withCtx((*Broker).leaveGroup)},                  // LeaveGroup
	{14, 0, 5, withCtx((*Broker).syncGroup)},                   // SyncGroup
	{15, 0, 6, withCtx((*Broker).describeGroups)},              // DescribeGroups
	{16, 0, 5, withCtx((*Broker).listGroups)},                  // ListGroups
	{17, 0, 1, plain((*Broker).saslHandshake)},                 // SaslHandshake (SASL listeners answer it per connection: package netserver)
	{18, 0, 5, plain((*Broker).apiVersions)},                   // ApiVersions
	{19, 0, 7, withCtx((*Broker).createTopics)},                // CreateTopics
	{20, 0, 6, withCtx((*Broker).deleteTopics)},                // DeleteTopics
	{21, 0, 2, withCtx((*Broker).deleteRecords)},               // DeleteRecords
	{22, 0, 5, withCtx((*Broker).initProducerID)},              // InitProducerId
	{23, 0, 4, withCtx((*Broker).offsetForLeaderEpoch)},        // OffsetForLeaderEpoch
	{24, 0, 5, withCtx((*Broker).addPartitionsToTxn)},          // AddPartitionsToTxn
	{25, 0, 4, withCtx((*Broker).addOffsetsToTxn)},             // AddOffsetsToTxn
	{26, 0, 5, withCtx((*Broker).endTxn)},                      // EndTxn (v5: transaction version 2)
	{27, 0, 2, withCtx((*Broker).writeTxnMarkers)},             // WriteTxnMarkers
	{28, 0, 6, withCtx((*Broker).txnOffsetCommit)},             // TxnOffsetCommit
	{29, 0, 3, withCtx((*Broker).describeACLs)},                // DescribeAcls
	{30, 0, 3, withCtx((*Broker).createACLs)},                  // CreateAcls
	{31, 0, 3, withCtx((*Broker).deleteACLs)},                  // DeleteAcls
	{32, 0, 4, withCtx((*Broker).describeConfigs)},             // DescribeConfigs
	{33, 0, 2, withCtx((*Broker).alterConfigs)},                // AlterConfigs
	{35, 0, 5, withCtx((*Broker).describeLogDirs)},             // DescribeLogDirs
	{36, 0, 2, plain((*Broker).saslAuthenticate)},              // SaslAuthenticate (as SaslHandshake)
	{37, 0, 3, withCtx((*Broker).createPartitions)},            // CreatePartitions
	{42, 0, 3, withCtx((*Broker).deleteGroups)},                // DeleteGroups
	{43, 0, 2, withCtx((*Broker).electLeaders)},                // ElectLeaders
	{44, 0, 1, withCtx((*Broker).incrementalAlterConfigs)},     // IncrementalAlterConfigs
	{45, 0, 1, withCtx((*Broker).alterPartitionReassignments)}, // AlterPartitionReassignments
	{46, 0, 0, withCtx((*Broker).listPartitionReassignments)},  // ListPartitionReassignments
	{47, 0, 0, withCtx((*Broker).offsetDelete)},                // OffsetDelete
	{48, 0, 1, withCtx((*Broker).describeClientQuotas)},        // DescribeClientQuotas
	{49, 0, 1, withCtx((*Broker).alterClientQuotas)},           // AlterClientQuotas
	{50, 0, 0, withCtx((*Broker).describeUserSCRAMs)},          // DescribeUserScramCredentials
	{51, 0, 0, withCtx((*Broker).alterUserSCRAMs)},             // AlterUserScramCredentials
	{55, 0, 2, withCtx((*Broker).describeQuorum)},              // DescribeQuorum
	{57, 0, 2, withCtx((*Broker).updateFeatures)},              // UpdateFeatures
	{60, 0, 2, withCtx((*Broker).describeCluster)},             // DescribeCluster
	{61, 0, 0, withCtx((*Broker).describeProducers)},           // DescribeProducers
	{65, 0, 0, withCtx((*Broker).describeTransactions)},        // DescribeTransactions
	{66, 0, 2, withCtx((*Broker).listTransactions)},            // ListTransactions
	{68, 0, 1, withCtxWire((*Broker).consumerGroupHeartbeat)},  // ConsumerGroupHeartbeat
	{69, 0, 1, withCtx((*Broker).consumerGroupDescribe)},       // ConsumerGroupDescribe
	{74, 0, 1, withCtx((*Broker).listConfigResources)},         // ListConfigResources (KIP-1142; v0 ListClientMetricsResources)
	{75, 0, 0, withCtx((*Broker).describeTopicPartitions)},     // DescribeTopicPartitions
	{76, 1, 1, withCtxWire((*Broker).shareGroupHeartbeat)},     // ShareGroupHeartbeat (KIP-932; v0 was Kafka 4.0's early access)
	{77, 1, 1, withCtx((*Broker).shareGroupDescribe)},          // ShareGroupDescribe
	{78, 1, 2, withCtx((*Broker).shareFetch)},                  // ShareFetch (v2: record-limit mode KIP-1206, renew KIP-1222)
	{79, 1, 2, withCtx((*Broker).shareAcknowledge)},            // ShareAcknowledge (v2: renew KIP-1222)
	{83, 0, 0, withCtx((*Broker).initializeShareGroupState)},   // InitializeShareGroupState
	{84, 0, 0, withCtx((*Broker).readShareGroupState)},         // ReadShareGroupState
	{85, 0, 1, withCtx((*Broker).writeShareGroupState)},        // WriteShareGroupState (v1: KIP-1226 delivery-complete count)
	{86, 0, 0, withCtx((*Broker).deleteShareGroupState)},       // DeleteShareGroupState
	{87, 0, 1, withCtx((*Broker).readShareGroupStateSummary)},  // ReadShareGroupStateSummary (v1: KIP-1226)
	{90, 0, 1, withCtx((*Broker).describeShareGroupOffsets)},   // DescribeShareGroupOffsets (v1: lag, KIP-1226)
	{91, 0, 0, withCtx((*Broker).alterShareGroupOffsets)},      // AlterShareGroupOffsets
	{92, 0, 0, withCtx((*Broker).deleteShareGroupOffsets)},     // DeleteShareGroupOffsets
}

func init() {
	for i := range apis {
		a := &apis[i]
		// Never advertise more than the codec can decode.
		if r := kmsg.RequestForKey(a.key); r != nil && r.MaxVersion() < a.max {
			a.max = r.MaxVersion()
		}
		apiKeys = append(apiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: a.key, MinVersion: a.min, MaxVersion: a.max})
	}
}

// findAPI is key's row, or nil.
func findAPI(key int16) *api {
	for i := range apis {
		if apis[i].key == key {
			return &apis[i]
		}
	}
	return nil
}

// The adapters below turn each handler's signature into a handleFunc: a
// handler takes the decoded message, and the connection's context (long
// polls) or the wire request (client id and host) only if it needs them.

func plain[R kmsg.Request](f func(*Broker, R) kmsg.Response) handleFunc {
	return func(b *Broker, _ context.Context, req *wire.Request) kmsg.Response {
		return f(b, req.Msg.(R))
	}
}

func withCtx[R kmsg.Request](f func(*Broker, context.Context, R) kmsg.Response) handleFunc {
	return func(b *Broker, ctx context.Context, req *wire.Request) kmsg.Response {
		return f(b, ctx, req.Msg.(R))
	}
}

func withWire[R kmsg.Request](f func(*Broker, *wire.Request, R) kmsg.Response) handleFunc {
	return func(b *Broker, _ context.Context, req *wire.Request) kmsg.Response {
		return f(b, req, req.Msg.(R))
	}
}

func withCtxWire[R kmsg.Request](f func(*Broker, context.Context, *wire.Request, R) kmsg.Response) handleFunc {
	return func(b *Broker, ctx context.Context, req *wire.Request) kmsg.Response {
		return f(b, ctx, req, req.Msg.(R))
	}
}
