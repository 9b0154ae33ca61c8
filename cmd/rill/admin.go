package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/internal/admin"
	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/internal/metrics/prom"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/handler"
	brokerrt "github.com/rillmq/rill/replication/broker"
)

// defaultAdminListeners is admin.listeners' default: loopback, Redpanda's
// admin port.
const defaultAdminListeners = "127.0.0.1:9644"

// adminListener is the admin HTTP listener across start-up. startAdmin
// binds it before the storage engine opens, so /health/live answers while
// logs recover (a liveness probe must not kill a broker for recovering)
// and a taken port fails start-up before any recovery; attach gives it the
// running broker, after startRuntime. Until then /health/ready answers 503
// and /metrics has the process's metrics and what recovery reported.
type adminListener struct {
	server *admin.Server
	reg    *prometheus.Registry // nil: no listener
	broker atomic.Pointer[attachedBroker]
	close  func()
}

// attachedBroker is what the admin listener reads once the broker runs.
type attachedBroker struct {
	rt     *brokerrt.Runtime
	h      *handler.Broker
	minISR int
}

// startAdmin binds the admin HTTP listeners (admin.listeners; empty: none)
// and installs the metrics sink. A bind failure is a start-up error. Call
// stop when the broker shuts down, before the runtime and engine close;
// it may be called more than once.
func startAdmin(cfg *brokerConfig, logger *slog.Logger) (*adminListener, error) {
	addrs, err := admin.ParseListeners(cfg.get("admin.listeners", defaultAdminListeners))
	if err != nil {
		return nil, err
	}
	a := &adminListener{}
	if len(addrs) == 0 {
		// No listener: no sink either, so the hot paths measure nothing.
		// Handle still works (mounts nothing that is served).
		if a.server, err = admin.New(admin.Config{}); err != nil {
			return nil, err
		}
		a.close = sync.OnceFunc(func() { a.server.Close() })
		return a, nil
	}
	a.reg = prom.NewRegistry()
	sink := prom.NewSink(a.reg)
	a.server, err = admin.New(admin.Config{
		Listeners: addrs,
		Gatherer:  a.reg,
		Ready:     a.ready,
		Cluster:   a.cluster,
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	metrics.Set(sink)
	a.close = sync.OnceFunc(func() {
		a.server.Close()
		metrics.Set(nil)
	})
	bound := make([]string, 0, len(addrs))
	for _, ad := range a.server.Addrs() {
		bound = append(bound, ad.String())
	}
	// Tests binding port 0 read the address from this line.
	logger.Info("admin listener", "addr", strings.Join(bound, ","), "endpoints", "/metrics /health/live /health/ready /v1/cluster /v1/loggers")
	return a, nil
}

// attach starts serving the broker's state: call it after startRuntime,
// once the broker has its cluster view.
func (a *adminListener) attach(eng *engine.Engine, h *handler.Broker, srv servers) error {
	if a.reg == nil {
		return nil
	}
	rt, ok := h.Cluster().(*brokerrt.Runtime)
	if !ok {
		return fmt.Errorf("admin listener: the broker has no cluster runtime")
	}
	b := &attachedBroker{rt: rt, h: h, minISR: h.LogDefaults().MinInsyncReplicas}
	if err := a.reg.Register(prom.NewCollector(prom.Sources{
		Status:        rt.Status,
		DefaultMinISR: b.minISR,
		Logs:          func() []prom.LogStat { return logStats(eng) },
		GroupLag:      func() []prom.GroupLag { return groupLag(h, rt) },
		Connections:   func() map[string]int { return connectionCounts(srv) },
		FetchSessions: func() prom.FetchSessionStats {
			s := h.FetchSessionStats()
			return prom.FetchSessionStats{Sessions: s.Sessions, Partitions: s.Partitions, Evictions: s.Evictions}
		},
		Shares: func() prom.ShareStats {
			s := h.ShareStats()
			return prom.ShareStats{Sessions: s.Sessions, Partitions: s.Partitions, InFlight: s.InFlight}
		},
	})); err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	a.broker.Store(b)
	return nil
}

// Handle mounts an endpoint on the admin listener (admin.Server.Handle).
func (a *adminListener) Handle(pattern string, h http.Handler) { a.server.Handle(pattern, h) }

// stop closes the listener and uninstalls the metrics sink.
func (a *adminListener) stop() { a.close() }

func (a *adminListener) ready() (bool, string) {
	b := a.broker.Load()
	if b == nil {
		return false, "starting: opening and recovering the partition logs"
	}
	return readiness(b.rt.Status())
}

func (a *adminListener) cluster() any {
	b := a.broker.Load()
	if b == nil {
		return map[string]any{"ready": false, "reason": "starting"}
	}
	return clusterDocument(b.rt.Status(), b.h.ClusterID(), b.minISR)
}

// readiness is /health/ready's answer: ready once the broker applied
// metadata as current as the controller's when its session began (and so
// serves), and every partition assigned here has its log opened and
// recovered. A metadata lag after that does not unready the broker: it
// applies entries a heartbeat behind the controller in normal operation;
// rill_metadata_offset_lag shows it.
func readiness(s brokerrt.Status) (bool, string) {
	if !s.Ready {
		return false, fmt.Sprintf("metadata not caught up: applied offset %d, controller offset %d", s.MetadataOffset, s.ControllerOffset)
	}
	if len(s.Failures) > 0 {
		names := make([]string, 0, len(s.Failures))
		for tp := range s.Failures {
			names = append(names, tp)
		}
		sort.Strings(names)
		return false, fmt.Sprintf("%d partitions assigned here have no log: %v (first: %s)", len(names), names, s.Failures[names[0]])
	}
	return true, ""
}

// logStats lists the local partition logs' sizes.
func logStats(eng *engine.Engine) []prom.LogStat {
	var out []prom.LogStat
	for _, tp := range eng.Partitions() {
		l, err := eng.Partition(tp)
		if err != nil {
			continue // deleted since the listing
		}
		out = append(out, prom.LogStat{Topic: tp.Topic, Partition: tp.Partition, Size: l.Size(), Segments: len(l.Segments())})
	}
	return out
}

// groupLag is each coordinated group's lag on the partitions this broker
// leads: the high watermark (what a consumer can read) less the committed
// offset. A partition led by another broker has no high watermark here
// and is not reported (asking its leader would put network I/O in a
// scrape).
func groupLag(h *handler.Broker, rt *brokerrt.Runtime) []prom.GroupLag {
	g := h.Groups()
	if g == nil {
		return nil
	}
	var out []prom.GroupLag
	for _, o := range g.CommittedOffsets() {
		rep := rt.Replica(o.Topic, o.Partition)
		if rep == nil {
			continue
		}
		hw, err := rep.HighWatermark()
		if err != nil {
			continue // not the leader
		}
		out = append(out, prom.GroupLag{Group: o.Group, Topic: o.Topic, Partition: o.Partition, Lag: max(hw-o.Offset, 0)})
	}
	return out
}

// connectionCounts sums the open connections per listener.
func connectionCounts(srv servers) map[string]int {
	out := map[string]int{}
	for _, s := range srv {
		if c, ok := s.(netserver.ConnectionCounter); ok {
			name := c.ListenerName()
			if name == "" {
				name = "PLAINTEXT"
			}
			out[name] += c.Connections()
		}
	}
	return out
}

// clusterDocument is /v1/cluster's answer.
func clusterDocument(s brokerrt.Status, clusterID string, minISR int) any {
	type brokerDoc struct {
		ID    int32  `json:"id"`
		Host  string `json:"host"`
		Port  int32  `json:"port"`
		Rack  string `json:"rack,omitempty"`
		Alive bool   `json:"alive"`
	}
	type partitionsDoc struct {
		Total                  int `json:"total"`
		Replicas               int `json:"replicas"`
		Leaders                int `json:"leaders"`
		UnderReplicated        int `json:"under_replicated"`
		UnderMinISR            int `json:"under_min_isr"`
		Offline                int `json:"offline"`
		ClusterUnderReplicated int `json:"cluster_under_replicated"`
	}
	type metadataDoc struct {
		AppliedOffset    uint64 `json:"applied_offset"`
		ControllerOffset uint64 `json:"controller_offset"`
		Lag              uint64 `json:"lag"`
	}
	type doc struct {
		NodeID       int32             `json:"node_id"`
		ClusterID    string            `json:"cluster_id"`
		ControllerID int32             `json:"controller_id"`
		Ready        bool              `json:"ready"`
		Brokers      []brokerDoc       `json:"brokers"`
		Partitions   partitionsDoc     `json:"partitions"`
		Metadata     metadataDoc       `json:"metadata"`
		Failures     map[string]string `json:"failures,omitempty"`
	}
	n := s.Counts(minISR)
	d := doc{NodeID: s.NodeID, ClusterID: clusterID, ControllerID: s.ControllerID, Ready: s.Ready, Brokers: []brokerDoc{},
		Partitions: partitionsDoc{Total: n.Partitions, Replicas: n.Replicas, Leaders: n.Leaders, UnderReplicated: n.UnderReplicated,
			UnderMinISR: n.UnderMinISR, Offline: n.Offline, ClusterUnderReplicated: n.ClusterUnderReplicated},
		Metadata: metadataDoc{AppliedOffset: s.MetadataOffset, ControllerOffset: s.ControllerOffset, Lag: s.MetadataLag()},
		Failures: s.Failures}
	for _, b := range s.Brokers {
		d.Brokers = append(d.Brokers, brokerDoc{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack, Alive: !b.Fenced})
	}
	return d
}
