package handler

// Broker metrics (package internal/metrics) the handlers report: bytes and
// records appended by Produce, record bytes sent by Fetch, and the
// requests parked in the produce and fetch purgatories. Accessors at the
// end give the admin listener's scrape-time collectors the broker's
// cluster view and group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/internal/metrics"
)

// parkIf is metrics.Park when wait holds, else a no-op.
func parkIf(ctx context.Context, p metrics.Purgatory, wait bool) func() {
	if !wait {
		return func() {}
	}
	return metrics.Park(ctx, p)
}

// fetched reports the record bytes of a Fetch answer per topic (Kafka's
// BytesOutPerSec for a consumer, ReplicationBytesOutPerSec for a
// follower) and returns the answer. The bytes are those the answer
// carries: the file ranges still to be sent and any record batches
// already read; a throttled answer carries none.
func (b *Broker) fetched(r kmsg.Response, follower bool) kmsg.Response {
	fr, ok := r.(*FetchResponse)
	if !ok || !metrics.Enabled() {
		return r
	}
	perTopic := make([]int, len(fr.Topics))
	for _, rg := range fr.Ranges {
		perTopic[rg.Topic] += int(rg.Len)
	}
	for i, t := range fr.Topics {
		for _, p := range t.Partitions {
			perTopic[i] += len(p.RecordBatches)
		}
		if perTopic[i] == 0 {
			continue
		}
		name := t.Topic
		if name == "" { // v13+: topics by id
			if mt, ok := b.topicByID(t.TopicID); ok {
				name = mt.Name
			}
		}
		metrics.Fetched(name, perTopic[i], follower)
	}
	return r
}

// Cluster is the cluster view given to SetCluster (nil before), for the
// admin listener's collectors. Call it after SetCluster's caller
// returned.
func (b *Broker) Cluster() Cluster { return b.cluster }

// Groups is the broker's group coordinator, for the consumer lag
// collector.
func (b *Broker) Groups() *group.Coordinator { return b.groups }

// ClusterID is the cluster id the broker reports (cluster.id).
func (b *Broker) ClusterID() string { return b.cfg.ClusterID }
