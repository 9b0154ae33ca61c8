package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/listeners"
	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/netserver/handler"
	brokerrt "github.com/rillmq/rill/replication/broker"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
)

// parseVoters reads controller.quorum.voters: "1@host:port,2@host:port".
func parseVoters(s string) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, v := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(v), "@")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil || n == 0 || addr == "" {
			return nil, fmt.Errorf("controller.quorum.voters: %q is not id@host:port", v)
		}
		out[n] = addr
	}
	return out, nil
}

// startRuntime runs the broker's cluster side (package broker) and gives
// the handlers its metadata (handler.SetCluster). Without
// controller.quorum.voters the node is a cluster of one: a one-voter
// controller quorum in this process, its metadata log in
// <data>/__cluster_metadata, and a data directory written before that log
// existed has its topic catalog imported once. With voters, process.roles
// naming the controller role makes this process a quorum member; a
// broker-only node copies the metadata from the controllers. The broker
// answers clients once it has applied the metadata (Runtime.Ready). The
// returned function stops it all. The broker's authorizer (if any) is fed
// the metadata log's ACLs before the broker serves.
func startRuntime(cfg *brokerConfig, lc *listeners.Config, dataDir string, eng *engine.Engine, local *metadata.Store, h *handler.Broker, logs *logging.Logging) (func(), error) {
	roles := cfg.get("process.roles", "broker")
	votersSet := cfg.get("controller.quorum.voters", "") != ""
	if err := checkProcessRoles(cfg); err != nil {
		return nil, err
	}
	rc, err := runtimeConfig(cfg)
	if err != nil {
		return nil, err
	}
	if votersSet {
		if rc.Voters, err = parseVoters(cfg.get("controller.quorum.voters", "")); err != nil {
			return nil, err
		}
		rc.Controller = strings.Contains(roles, "controller")
		if l, ok := lc.ControllerListener(); ok && rc.Controller {
			rc.ControllerListen = l.Addr() // else its address in the voters
		}
		if rc.ControllerSecurity, err = cfg.controllerSecurity(lc, rc.Controller, h.Authorizer(), logs); err != nil {
			return nil, err
		}
	} else {
		if l, ok := lc.ControllerListener(); ok {
			logs.Component("server").Warn("controller listener not bound: without controller.quorum.voters the quorum is this process alone", "listener", l.String())
		}
		marker := filepath.Join(dataDir, brokerrt.MetadataDir, catalogImported)
		rc.ImportCatalog = !vfs.Exists(vfs.Default, marker)
		rc.ImportDone = func() error {
			return vfs.WriteFileAtomic(vfs.Default, filepath.Dir(marker), marker, []byte("the topic catalog of this data directory is in the metadata log\n"))
		}
	}
	rc.Self.Host, rc.Self.Port = h.Advertised()
	rc.Self.Listeners = registeredListeners(lc, h)
	rc.DataDir, rc.Local, rc.LogDefaults = dataDir, local, h.LogDefaults()
	rc.Engine, rc.Listener, rc.Logger = eng, h, logs.Component("broker")
	rc.ControllerLogger, rc.TransportLogger, rc.ReplicaLogger = logs.Component("controller"), logs.Component("transport"), logs.Component("replica")
	rc.ACLs = h // into the handlers' authorizer (none: ignored)
	inter, err := cfg.interBrokerClient(lc)
	if err != nil {
		return nil, err
	}
	if inter != nil {
		rc.InterBrokerClientOpts = inter.KgoOpts()
	}
	rc.Attach = func(rt *brokerrt.Runtime) { h.SetCluster(rt) }
	rt, err := brokerrt.Start(rc)
	if err != nil {
		return nil, err
	}
	if err := h.StartGroups(); err != nil {
		// Undecodable records were skipped; a read failure leaves the
		// groups it did not reach empty. Either way the broker serves.
		logs.Component("group").Warn("loading consumer groups failed: serving without the groups not loaded", "err", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		if rt.Ready(ctx) == nil {
			h.Serve()
		}
	}()
	return func() {
		cancel()
		<-ready
		rt.Close()
	}, nil
}

// catalogImported marks (in the metadata log's folder) that a single
// broker's topic catalog has been imported into the metadata log.
const catalogImported = "catalog-imported"

// runtimeConfig reads the broker runtime's settings: Kafka's names and
// defaults.
func runtimeConfig(cfg *brokerConfig) (brokerrt.Config, error) {
	var rc brokerrt.Config
	id, err := cfg.int64("node.id", 1)
	if err != nil {
		return rc, err
	}
	rc.Self = controller.BrokerInfo{ID: int32(id), Rack: cfg.get("broker.rack", "")}
	ms := map[string]int64{}
	for _, d := range []struct {
		key string
		def int64
	}{
		{"broker.heartbeat.interval.ms", 2000}, {"broker.session.timeout.ms", 9000},
		{"replica.lag.time.max.ms", 30000}, {"replica.fetch.wait.max.ms", 500}, {"replica.fetch.max.bytes", 1 << 20},
		{"replica.high.watermark.checkpoint.interval.ms", 5000}, {"leader.imbalance.check.interval.seconds", 300},
		{"metadata.snapshot.interval.entries", 1000},
	} {
		if ms[d.key], err = cfg.int64(d.key, d.def); err != nil {
			return rc, err
		}
	}
	heartbeat, session := ms["broker.heartbeat.interval.ms"], ms["broker.session.timeout.ms"]
	if heartbeat <= 0 || heartbeat >= session {
		return rc, fmt.Errorf("broker.heartbeat.interval.ms (%d) must be positive and below broker.session.timeout.ms (%d)", heartbeat, session)
	}
	if ms["metadata.snapshot.interval.entries"] < 1 {
		return rc, fmt.Errorf("metadata.snapshot.interval.entries: %d is below 1", ms["metadata.snapshot.interval.entries"])
	}
	d := func(key string) time.Duration { return time.Duration(ms[key]) * time.Millisecond }
	rc.Heartbeat, rc.Session = d("broker.heartbeat.interval.ms"), d("broker.session.timeout.ms")
	rc.LagTimeMax, rc.FetchMaxWait = d("replica.lag.time.max.ms"), d("replica.fetch.wait.max.ms")
	rc.FetchMaxBytes = int32(min(ms["replica.fetch.max.bytes"], 1<<30))
	rc.HighWatermarkInterval = d("replica.high.watermark.checkpoint.interval.ms")
	if cfg.get("auto.leader.rebalance.enable", "true") == "true" {
		rc.RebalanceInterval = time.Duration(ms["leader.imbalance.check.interval.seconds"]) * time.Second
	}
	rc.SnapshotEvery = uint64(ms["metadata.snapshot.interval.entries"])
	rc.UncleanLeaderElection = cfg.get("unclean.leader.election.enable", "false") == "true"
	tv, err := cfg.int64("transaction.version", 2)
	if err != nil {
		return rc, err
	}
	rc.BootstrapFeatures = map[string]int16{controller.FeatureTransactionVersion: int16(tv)}
	return rc, nil
}
