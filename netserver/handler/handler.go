// Package handler implements the Kafka APIs of a single broker, one file
// per API key (NN_name.go, each opening with the versions it serves and how
// it behaves). Handle takes a parsed request and returns the response, or
// nil when Kafka sends none (Produce with acks=0).
//
// Errors cross into Kafka error codes only here (errors.go): the engine and
// the catalog return Go errors.
//
// Concurrency: Handle is safe for concurrent use. Fetch long-polls wait on
// the broker's append signal, never on a connection's goroutine of another
// request.
package handler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/netserver/wire"
	"github.com/rillmq/rill/replication/group"
	"github.com/rillmq/rill/replication/metadata"
)

// Config is the broker-level behaviour the handlers need.
type Config struct {
	NodeID    int32
	Host      string
	Port      int32
	ClusterID string
	// AutoCreateTopics is auto.create.topics.enable.
	AutoCreateTopics bool
	// NumPartitions is num.partitions, for auto-created topics and
	// CreateTopics with -1.
	NumPartitions int32
	// DefaultReplicationFactor is default.replication.factor.
	DefaultReplicationFactor int16
	// OffsetsReplicationFactor is offsets.topic.replication.factor (3),
	// capped at the live brokers when the offsets topic is created in a
	// cluster; a single broker uses 1.
	OffsetsReplicationFactor int16
	// LogDefaults is the broker's default topic config.
	LogDefaults log.Config
	// BrokerConfigs are the broker's own settings, for DescribeConfigs.
	BrokerConfigs map[string]string
	// Groups configures the group coordinator; the zero value means
	// Kafka's defaults (group.DefaultConfig).
	Groups group.Config
}

// Broker answers requests against one engine and one catalog.
type Broker struct {
	cfg     Config
	engine  *engine.Engine
	catalog *metadata.Store
	logf    func(string, ...any)

	// topicMu serializes topic creation and deletion with each other.
	topicMu sync.Mutex

	appended *signal.Signal
	// groups is the group coordinator; stopGroups ends its clock.
	groups     *group.Coordinator
	stopGroups func()
	// advertised is the host and port clients are told to use.
	advertised atomic.Pointer[endpoint]
	// cluster is set on a broker of a multi-node cluster.
	cluster atomic.Pointer[clusterHolder]
	// pids is a cluster broker's block of producer ids.
	pids producerIDBlock
	// coordinated holds the offsets partitions whose groups this cluster
	// broker has loaded as their leader (groups.go).
	coordinated sync.Map // int32 → struct{}
	// faults are partitions that could not be created, and the rate limit
	// of storage fault logs (storage_faults.go).
	faults storageFaults
}

// New returns a Broker.
func New(cfg Config, eng *engine.Engine, catalog *metadata.Store, logf func(string, ...any)) *Broker {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Groups.OffsetsPartitions == 0 {
		cfg.Groups = group.DefaultConfig()
	}
	b := &Broker{cfg: cfg, engine: eng, catalog: catalog, logf: logf, appended: signal.New()}
	gc := cfg.Groups
	gc.Topics = catalogTopics{catalog}
	gc.Owns = b.ownsOffsetsPartition
	b.groups = group.New(gc, offsetsStore{b})
	b.Advertise(cfg.Host, cfg.Port)
	return b
}

// Advertise sets the address Metadata and DescribeCluster give clients
// (e.g. once an ephemeral port is known). Safe while serving.
func (b *Broker) Advertise(host string, port int32) {
	b.advertised.Store(&endpoint{host: host, port: port})
}

type endpoint struct {
	host string
	port int32
}

// Advertised is the address clients are told to use (advertised.host or
// the listen host, and the port actually bound).
func (b *Broker) Advertised() (string, int32) {
	e := b.advertised.Load()
	return e.host, e.port
}

// LogConfig returns the effective log config of a topic: broker defaults
// overlaid with the topic's overrides.
func LogConfig(defaults log.Config, t metadata.Topic) log.Config {
	c := defaults
	for k, v := range t.Configs {
		if err := c.Set(k, v); err != nil {
			// Validated when stored; a bad value here means the
			// catalog was edited by hand. Keep the default.
			continue
		}
	}
	return c
}

// Handle answers one request through the API table (api_table.go). The
// response is nil when none is sent (Produce with acks=0), and when the key
// has no row: callers check Supports first. ctx ends when the request's
// connection closes, which ends long polls (Fetch, JoinGroup, SyncGroup).
func (b *Broker) Handle(ctx context.Context, req *wire.Request) kmsg.Response {
	if req.Msg == nil {
		return nil // the caller answers ApiVersions fallback or closes
	}
	if a := findAPI(req.Msg.Key()); a != nil {
		return a.handle(b, ctx, req)
	}
	return nil
}

// Supports reports whether key at version has a handler.
func Supports(key, version int16) bool {
	for _, k := range apiKeys {
		if k.ApiKey == key {
			return version >= k.MinVersion && version <= k.MaxVersion
		}
	}
	return false
}

// partitionLog resolves partition p of the requested topic (t, found
// when known) to its log, or to the error code Kafka answers for it. In a
// cluster, a partition the metadata has but this broker has not created
// yet is LEADER_NOT_AVAILABLE, which clients retry, not unknown; when the
// metadata names this broker its leader, the request waits up to a second
// for the reconciler instead (a topic just created: clients that got
// CreateTopics' answer produce at once, and a retry would cost them a
// metadata refresh, 5 s in franz-go).
func (b *Broker) partitionLog(name string, t metadata.Topic, known bool, partition int32) (*log.Log, *kerr.Error) {
	var l *log.Log
	var code *kerr.Error
	awaitLocal(func() bool {
		l, code = b.resolvePartition(name, t, known, partition)
		if code != kerr.LeaderNotAvailable || b.clusterView() == nil || b.leaderHere(name, partition) != nil {
			return true // served, failed for good, or not ours to wait for
		}
		if name != "" {
			t, known = b.catalog.Get(name)
		}
		return false
	})
	return l, code
}

// retryCreate is a request for a partition the catalog has but the engine
// does not: its creation failed (storage_faults.go). A single broker
// creates it again now; in a cluster the reconciler retries, and the
// failure is reported until then. (nil, nil): not a failed partition.
func (b *Broker) retryCreate(t metadata.Topic, tp engine.TopicPartition) (*log.Log, error) {
	failure := b.faults.creationFailure(tp)
	if failure == nil || b.clusterView() != nil {
		return nil, failure
	}
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	if cur, ok := b.catalog.Get(t.Name); !ok || cur.ID != t.ID {
		return nil, nil // deleted meanwhile
	}
	l, err := b.engine.CreatePartition(tp, LogConfig(b.cfg.LogDefaults, t))
	if errors.Is(err, engine.ErrPartitionExists) {
		l, err = b.engine.Partition(tp)
	}
	if err != nil {
		b.faults.failed(tp, err)
		return nil, err
	}
	b.faults.created(tp)
	b.logf("partition %s created on retry", tp)
	return l, nil
}

func (b *Broker) resolvePartition(name string, t metadata.Topic, known bool, partition int32) (*log.Log, *kerr.Error) {
	if !known || partition < 0 || partition >= t.Partitions {
		if b.inClusterMetadata(name, partition) {
			return nil, kerr.LeaderNotAvailable
		}
		return nil, kerr.UnknownTopicOrPartition
	}
	if e := b.leaderHere(t.Name, partition); e != nil {
		return nil, e
	}
	tp := engine.TopicPartition{Topic: t.Name, Partition: partition}
	l, err := b.engine.Partition(tp)
	if errors.Is(err, engine.ErrUnknownPartition) {
		if l, err = b.retryCreate(t, tp); err != nil {
			b.faults.logf(b.logf, "create "+tp.String(), "partition %s has no log: %v", tp, err)
			return nil, kerr.KafkaStorageError
		}
		if l == nil && b.inClusterMetadata(t.Name, partition) {
			return nil, kerr.LeaderNotAvailable // the reconciler creates it
		}
		if l == nil {
			err = fmt.Errorf("%w: %s", engine.ErrUnknownPartition, tp)
		}
	}
	if err != nil {
		return nil, toKerr(err)
	}
	return l, nil
}
