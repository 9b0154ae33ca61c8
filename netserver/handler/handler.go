// Package handler implements a broker's Kafka APIs, one file per API key
// (NN_name.go, each opening with the versions it serves and how it
// behaves). Handle takes a parsed request and returns the response, or nil
// when Kafka sends none (Produce with acks=0). Every broker, a single node
// (a cluster of one) or one of several, answers from the cluster metadata
// it is given (Cluster, cluster.go) and changes it through the active
// controller; requests wait until Serve, once the broker has applied that
// metadata.
//
// Errors cross into Kafka error codes only here (errors.go): the engine,
// the replicas and the controller return Go errors.
//
// Concurrency: Handle is safe for concurrent use. Fetch long-polls wait on
// the broker's append signal, never on a connection's goroutine of another
// request.
package handler

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/fetchsession"
	"github.com/rillmq/rill/netserver/quota"
	"github.com/rillmq/rill/netserver/sharesession"
	"github.com/rillmq/rill/netserver/wire"
	"github.com/rillmq/rill/replication/metadata"
)

// Config is the broker-level behaviour the handlers need.
type Config struct {
	NodeID int32
	// Host and Port are the inter-broker listener's advertised address.
	Host string
	Port int32
	// Listeners are every listener's advertised address (nil: one
	// listener, at Host:Port). A client is answered with the addresses of
	// the listener it connected to (WithListener).
	Listeners []metadata.Endpoint
	ClusterID string
	// AutoCreateTopics is auto.create.topics.enable.
	AutoCreateTopics bool
	// NumPartitions is num.partitions, for auto-created topics and
	// CreateTopics with -1.
	NumPartitions int32
	// DefaultReplicationFactor is default.replication.factor.
	DefaultReplicationFactor int16
	// OffsetsReplicationFactor is offsets.topic.replication.factor (3),
	// capped at the live brokers when the offsets topic is created.
	OffsetsReplicationFactor int16
	// LogDefaults is the broker's default topic config.
	LogDefaults log.Config
	// BrokerConfigs are every broker key with its value and source, for
	// DescribeConfigs (configs.go), sorted by name.
	BrokerConfigs []BrokerConfig
	// Loggers are the process's run-time log levels, which
	// BROKER_LOGGER config resources describe and change
	// (broker_loggers.go); nil refuses them.
	Loggers *logging.Logging
	// Groups configures the group coordinator; the zero value means
	// Kafka's defaults (group.DefaultConfig).
	Groups group.Config
	// Txn configures the transaction coordinator; the zero value means
	// Kafka's defaults (txn.DefaultConfig).
	Txn txn.Config
	// TxnLogger is the transaction coordinator's logger; nil uses the
	// broker's (New).
	TxnLogger *slog.Logger
	// TxnStateReplicationFactor is
	// transaction.state.log.replication.factor (3), capped at the live
	// brokers when __transaction_state is created; TxnStateMinISR is
	// transaction.state.log.min.isr (2), capped at the replication factor.
	TxnStateReplicationFactor int16
	TxnStateMinISR            int16
	// ShareState configures the share coordinator (its partition count,
	// share.coordinator.state.topic.num.partitions; the zero value means
	// Kafka's defaults); ShareStateReplicationFactor and ShareStateMinISR
	// are share.coordinator.state.topic.replication.factor (3, capped at
	// the live brokers) and .min.isr (2, capped at the replication
	// factor) when __share_group_state is created (share_state.go).
	ShareState                  sharestate.Config
	ShareStateReplicationFactor int16
	ShareStateMinISR            int16
	// TransactionVersion is the finalized transaction.version feature
	// (0-2) ApiVersions advertises: 2 is KIP-890 part 2 (Produce v12 adds
	// partitions, EndTxn v5 bumps the epoch, TxnOffsetCommit v5 adds the
	// group).
	TransactionVersion int16
	// Authorizer decides ACLs (authorizer.class.name set); nil means no
	// authorizer: every request is allowed and the ACL APIs answer
	// SECURITY_DISABLED, as in Kafka. The broker feeds it the ACLs of the
	// metadata log (Add/Remove) and must have replayed them before
	// Serve.
	Authorizer *authz.Authorizer
	// PeerClientOpts are added to the broker's clients of other brokers
	// (transaction verification, marker writes): the inter-broker
	// listener's security (TLS, SASL credentials).
	PeerClientOpts []kgo.Opt
	// Quotas enforces the client quotas of the metadata log (quota.go:
	// the broker feeds it, SetClientQuotas); nil enforces none, though
	// DescribeClientQuotas and AlterClientQuotas still work.
	Quotas *quota.Manager
	// QuotaClock is the quotas' clock (nil: time.Now), for tests.
	QuotaClock func() time.Time
	// FetchSessions sizes the fetch session cache
	// (max.incremental.fetch.session.cache.slots,
	// min.incremental.fetch.session.eviction.ms); nil means Kafka's
	// defaults.
	FetchSessions *fetchsession.Config
	// PartitionSizeLimit is max.request.partition.size.limit: the most
	// partitions a DescribeTopicPartitions answer holds (0: 2000).
	PartitionSizeLimit int32
	// Share is the share-partition leader's settings (share_partitions.go).
	Share ShareConfig
}

// Broker answers requests against one engine and the cluster metadata.
type Broker struct {
	cfg    Config
	engine *engine.Engine
	log    *slog.Logger

	// watch wakes long-polling fetches of a partition that was appended
	// to or whose high watermark moved (fetch_watch.go).
	watch *fetchWatch
	// groups is the group coordinator; stopGroups ends its clock.
	groups     *group.Coordinator
	stopGroups func()
	// txns is the transaction coordinator.
	txns *txn.Coordinator
	// shareState is the share coordinator (share_state.go).
	shareState *sharestate.Coordinator
	// peers are clients to other brokers (peers.go).
	peers peers
	// advertised is the inter-broker listener's address; listeners are
	// every listener's, by name.
	advertised atomic.Pointer[endpoint]
	listeners  atomic.Pointer[map[string]endpoint]
	// cluster is the metadata the broker serves from (SetCluster, before
	// serving).
	cluster Cluster
	// sessions are the incremental fetch sessions (fetch_session.go).
	sessions *fetchsession.Cache
	// pids is this broker's block of producer ids.
	pids producerIDBlock
	// faults rate limits storage fault logs (storage_faults.go).
	faults storageFaults
	// autoCreate runs the topic creations Metadata starts
	// (metadata_autocreate.go).
	autoCreate autoCreator
	// shares are the share partitions this broker leads, shareSessions
	// the share sessions of their members, shareConns the connections
	// whose end closes sessions (share_partitions.go, 78_share_fetch.go).
	shares        *shares
	shareSessions *sharesession.Cache
	shareConns    shareSessionConns
	// serving is closed by Serve: requests wait for it.
	serving   chan struct{}
	serveOnce sync.Once
}

// New returns a Broker.
//
// log reports topic changes and failures requests meet (nil discards);
// the group coordinator logs to cfg.Groups.Logger and the transaction
// coordinator to cfg.TxnLogger, each log when nil.
func New(cfg Config, eng *engine.Engine, log *slog.Logger) *Broker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TxnLogger == nil {
		cfg.TxnLogger = log
	}
	if cfg.Groups.OffsetsPartitions == 0 {
		cfg.Groups = group.DefaultConfig()
	}
	b := &Broker{cfg: cfg, engine: eng, log: log, watch: newFetchWatch(), serving: make(chan struct{}),
		sessions: newFetchSessions(cfg.FetchSessions), shareSessions: sharesession.New(cfg.Share.maxSessions())}
	b.shares = newShares(b)
	gc := cfg.Groups
	gc.Topics = groupTopics{b}
	gc.GroupConfig = b.groupConfig
	gc.OnShareGroupDeleted = b.shareGroupDeleted
	gc.OnShareMemberRemoved = b.shareMemberRemoved
	if gc.Logger == nil {
		gc.Logger = log
	}
	gc.Partitions = b.offsetsPartitions
	b.groups = group.New(gc, offsetsStore{b})
	b.txns = b.newTxnCoordinator()
	b.shareState = b.newShareStateCoordinator()
	b.peers.self, b.peers.opts = cfg.NodeID, cfg.PeerClientOpts
	b.Advertise(cfg.Host, cfg.Port)
	byName := map[string]endpoint{}
	for _, l := range cfg.Listeners {
		byName[l.Name] = endpoint{host: l.Host, port: l.Port}
	}
	b.listeners.Store(&byName)
	return b
}

// Advertise sets the address Metadata and DescribeCluster give clients
// of a connection with no listener name, and brokers (e.g. once an
// ephemeral port is known). Safe while serving.
func (b *Broker) Advertise(host string, port int32) {
	b.advertised.Store(&endpoint{host: host, port: port})
}

// AdvertiseListener sets the address clients of the named listener are
// given (e.g. once its ephemeral port is known). Safe while serving.
func (b *Broker) AdvertiseListener(name, host string, port int32) {
	for {
		old := b.listeners.Load()
		next := maps.Clone(*old)
		next[name] = endpoint{host: host, port: port}
		if b.listeners.CompareAndSwap(old, &next) {
			return
		}
	}
}

// AdvertisedListeners are every listener's advertised address, in the
// order of Config.Listeners.
func (b *Broker) AdvertisedListeners() []metadata.Endpoint {
	byName := *b.listeners.Load()
	var out []metadata.Endpoint
	for _, l := range b.cfg.Listeners {
		e := byName[l.Name]
		out = append(out, metadata.Endpoint{Name: l.Name, Host: e.host, Port: e.port})
	}
	return out
}

type listenerKey struct{}

// WithListener names the listener a connection came in on: its requests
// are answered with that listener's addresses (Metadata, FindCoordinator,
// DescribeCluster).
func WithListener(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, listenerKey{}, name)
}

// ListenerOf is the listener name WithListener gave ctx ("": none, the
// inter-broker addresses answer).
func ListenerOf(ctx context.Context) string {
	name, _ := ctx.Value(listenerKey{}).(string)
	return name
}

// address is where a client of the named listener reaches broker br; ok
// is false when br has no such listener (Kafka leaves it out of the
// answer). This broker answers with its own current advertised address.
func (b *Broker) address(listener string, br metadata.Broker) (host string, port int32, ok bool) {
	if br.ID == b.cfg.NodeID {
		if listener != "" {
			if e, found := (*b.listeners.Load())[listener]; found {
				return e.host, e.port, true
			}
		}
		if listener == "" || len(b.cfg.Listeners) == 0 {
			host, port = b.Advertised()
			return host, port, true
		}
		return "", 0, false
	}
	return br.Endpoint(listener)
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

// Handle answers one request through the API table (api_table.go). The
// response is nil when none is sent (Produce with acks=0), and when the key
// has no row: callers check Supports first. ctx ends when the request's
// connection closes, which ends long polls (Fetch, JoinGroup, SyncGroup).
func (b *Broker) Handle(ctx context.Context, req *wire.Request) kmsg.Response {
	if req.Msg == nil {
		return nil // the caller answers ApiVersions fallback or closes
	}
	// ApiVersions waits too: its finalized features are the metadata's,
	// which a restarted broker knows only once it has replayed them.
	select {
	case <-b.serving:
	case <-ctx.Done():
		return nil // the connection closed before the broker was ready
	}
	if ctx.Err() != nil {
		// The connection closed: a request read before that is not
		// acted on late (a coordinator's WriteTxnMarkers it has since
		// sent again, say).
		return nil
	}
	if a := findAPI(req.Msg.Key()); a != nil {
		return a.handle(b, ctx, req)
	}
	return nil
}

// Serve opens the broker to requests: until then they wait (from bind
// until the broker has applied the cluster metadata, Kafka's brokers do
// not process requests either). Call it once, after SetCluster.
func (b *Broker) Serve() { b.serveOnce.Do(func() { close(b.serving) }) }

// LogDefaults are the broker's default topic configs.
func (b *Broker) LogDefaults() log.Config { return b.cfg.LogDefaults }

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
// for the publisher instead (a topic just created: clients that got
// CreateTopics' answer produce at once, and a retry would cost them a
// metadata refresh, 5 s in franz-go).
func (b *Broker) partitionLog(name string, t metadata.Topic, known bool, partition int32) (*log.Log, *kerr.Error) {
	var l *log.Log
	var code *kerr.Error
	b.awaitLocal(func() bool {
		l, code = b.resolvePartition(name, t, known, partition)
		if code != kerr.LeaderNotAvailable || b.leaderHere(name, partition) != nil {
			return true // served, failed for good, or not ours to wait for
		}
		if name != "" {
			t, known = b.topic(name)
		}
		return false
	})
	return l, code
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
	tp := kafka.TopicPartition{Topic: t.Name, Partition: partition}
	l, err := b.engine.Partition(tp)
	if errors.Is(err, engine.ErrUnknownPartition) {
		if failure := b.partitionFailure(tp); failure != nil {
			// Its creation failed (descriptor limit, disk): the publisher
			// retries; clients are told why until then.
			b.faults.log(b.log, "create "+tp.String(), "partition has no log", "partition", tp.String(), "err", failure)
			return nil, kerr.KafkaStorageError
		}
		return nil, kerr.LeaderNotAvailable // the publisher creates it
	}
	if err != nil {
		return nil, toKerr(err)
	}
	return l, nil
}
