package handler

// ApiVersions (key 18), v0-v4.
//
// Answers the version ranges in apiKeys, capped by what kmsg can decode.
// A request at a version we do not know is answered as Kafka does (KIP-511):
// a v0 response with UNSUPPORTED_VERSION and the key list, so the client can
// retry at a version both sides speak; the server builds that answer
// (ApiVersionsFallback) because such a request cannot be decoded.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiKeys is the advertised table: Kafka 4.x ranges where we implement
// them, older versions kept where clients still send them.
var apiKeys = []kmsg.ApiVersionsResponseApiKey{
	{ApiKey: 0, MinVersion: 3, MaxVersion: 11}, // Produce (v3+: record batch v2; zstd from v7)
	{ApiKey: 1, MinVersion: 4, MaxVersion: 16}, // Fetch
	{ApiKey: 2, MinVersion: 1, MaxVersion: 8},  // ListOffsets
	{ApiKey: 3, MinVersion: 0, MaxVersion: 13}, // Metadata
	{ApiKey: 8, MinVersion: 2, MaxVersion: 10}, // OffsetCommit
	{ApiKey: 9, MinVersion: 1, MaxVersion: 10}, // OffsetFetch
	{ApiKey: 10, MinVersion: 0, MaxVersion: 6}, // FindCoordinator
	{ApiKey: 11, MinVersion: 0, MaxVersion: 9}, // JoinGroup
	{ApiKey: 12, MinVersion: 0, MaxVersion: 4}, // Heartbeat
	{ApiKey: 13, MinVersion: 0, MaxVersion: 5}, // LeaveGroup
	{ApiKey: 14, MinVersion: 0, MaxVersion: 5}, // SyncGroup
	{ApiKey: 15, MinVersion: 0, MaxVersion: 6}, // DescribeGroups
	{ApiKey: 16, MinVersion: 0, MaxVersion: 5}, // ListGroups
	{ApiKey: 18, MinVersion: 0, MaxVersion: 4}, // ApiVersions
	{ApiKey: 19, MinVersion: 0, MaxVersion: 7}, // CreateTopics
	{ApiKey: 20, MinVersion: 0, MaxVersion: 6}, // DeleteTopics
	{ApiKey: 21, MinVersion: 0, MaxVersion: 2}, // DeleteRecords
	{ApiKey: 22, MinVersion: 0, MaxVersion: 5}, // InitProducerId
	{ApiKey: 23, MinVersion: 0, MaxVersion: 4}, // OffsetForLeaderEpoch
	{ApiKey: 32, MinVersion: 0, MaxVersion: 4}, // DescribeConfigs
	{ApiKey: 33, MinVersion: 0, MaxVersion: 2}, // AlterConfigs
	{ApiKey: 35, MinVersion: 0, MaxVersion: 4}, // DescribeLogDirs
	{ApiKey: 37, MinVersion: 0, MaxVersion: 3}, // CreatePartitions
	{ApiKey: 42, MinVersion: 0, MaxVersion: 3}, // DeleteGroups
	{ApiKey: 43, MinVersion: 0, MaxVersion: 2}, // ElectLeaders
	{ApiKey: 44, MinVersion: 0, MaxVersion: 1}, // IncrementalAlterConfigs
	{ApiKey: 45, MinVersion: 0, MaxVersion: 1}, // AlterPartitionReassignments
	{ApiKey: 46, MinVersion: 0, MaxVersion: 0}, // ListPartitionReassignments
	{ApiKey: 47, MinVersion: 0, MaxVersion: 0}, // OffsetDelete
	{ApiKey: 60, MinVersion: 0, MaxVersion: 2}, // DescribeCluster
	{ApiKey: 68, MinVersion: 0, MaxVersion: 1}, // ConsumerGroupHeartbeat
	{ApiKey: 69, MinVersion: 0, MaxVersion: 1}, // ConsumerGroupDescribe
}

func init() {
	// Never advertise more than the codec can decode.
	for i := range apiKeys {
		if r := kmsg.RequestForKey(apiKeys[i].ApiKey); r != nil && r.MaxVersion() < apiKeys[i].MaxVersion {
			apiKeys[i].MaxVersion = r.MaxVersion()
		}
	}
}

func (b *Broker) apiVersions(req *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = append(resp.ApiKeys, apiKeys...)
	return resp
}

// ApiVersionsFallback is the v0 answer to an ApiVersions request at a
// version we do not support.
func ApiVersionsFallback() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = append(resp.ApiKeys, apiKeys...)
	return resp
}
