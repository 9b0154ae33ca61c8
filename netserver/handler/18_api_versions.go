package handler

// ApiVersions (key 18), v0-v5.
//
// Answers the version ranges of the API table (api_table.go), capped by
// what kmsg can decode, and (v3+) the features: supported as Rill
// implements them (replication/controller's SupportedFeatures), finalized
// as the metadata has them (UpdateFeatures; level 0 is left out, as Kafka
// removes it) with the metadata offset as FinalizedFeaturesEpoch.
// share.version 0 leaves the share-group APIs out (shareGatedKeys).
//
// v5 (KIP-1242, Kafka 4.4) names the cluster and node the client believes
// it reached: both set or neither (else INVALID_REQUEST); set, and either
// not this broker's cluster id and node id, REBOOTSTRAP_REQUIRED, so the
// client starts over from its bootstrap servers. Both errors carry no
// keys, as Kafka's error answer.
//
// A request at a version we do not know is answered as Kafka does (KIP-511):
// a v0 response with UNSUPPORTED_VERSION and the key list, so the client can
// retry at a version both sides speak; the server builds that answer
// (ApiVersionsFallback) because such a request cannot be decoded.

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/controller"
)

// apiKeys is the advertised list: the API table (api_table.go) as
// ApiVersions answers it, built by the table's init.
var apiKeys []kmsg.ApiVersionsResponseApiKey

func (b *Broker) apiVersions(req *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 5 {
		hasCluster, hasNode := req.ClusterID != nil, req.NodeID != -1
		switch {
		case hasCluster != hasNode:
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp
		case hasCluster && (*req.ClusterID != b.cfg.ClusterID || req.NodeID != b.cfg.NodeID):
			resp.ErrorCode = kerr.RebootstrapRequired.Code
			return resp
		}
	}
	shareOn := b.shareGroupsEnabled()
	for _, k := range apiKeys {
		if shareOn || !shareGatedKeys[k.ApiKey] {
			resp.ApiKeys = append(resp.ApiKeys, k)
		}
	}
	// Features (v3+): clients read transaction.version to choose the
	// KIP-890 part 2 flow.
	for _, name := range slices.Sorted(maps.Keys(controller.SupportedFeatures)) {
		r := controller.SupportedFeatures[name]
		f := kmsg.NewApiVersionsResponseSupportedFeature()
		f.Name, f.MinVersion, f.MaxVersion = name, r.Min, r.Max
		resp.SupportedFeatures = append(resp.SupportedFeatures, f)
	}
	levels, epoch := map[string]int16{}, int64(-1)
	if b.cluster != nil {
		levels, epoch = b.cluster.Features()
	}
	if _, ok := levels[controller.FeatureTransactionVersion]; !ok {
		// Before the controller finalized it (a new cluster's first
		// batch): the level it is going to finalize.
		levels = maps.Clone(levels)
		if levels == nil {
			levels = map[string]int16{}
		}
		levels[controller.FeatureTransactionVersion] = b.cfg.TransactionVersion
	}
	for _, name := range slices.Sorted(maps.Keys(levels)) {
		if l := levels[name]; l > 0 {
			ff := kmsg.NewApiVersionsResponseFinalizedFeature()
			ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = name, l, l
			resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
		}
	}
	resp.FinalizedFeaturesEpoch = epoch
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
