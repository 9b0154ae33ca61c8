package main

import (
	"fmt"
	stdlog "log"
	"sort"
	"strings"

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

// startAdmin binds the admin HTTP listeners (admin.listeners; empty: none)
// and serves metrics, health and cluster status from the running broker:
// call it after startRuntime, so the broker has its cluster view. The
// returned function stops the listener and uninstalls the metrics sink;
// call it before the broker and engine close. A bind failure is a
// start-up error.
func startAdmin(cfg *brokerConfig, eng *engine.Engine, h *handler.Broker, srv servers, logger *stdlog.Logger) (*admin.Server, func(), error) {
	addrs, err := admin.ParseListeners(cfg.get("admin.listeners", defaultAdminListeners))
	if err != nil {
		return nil, nil, err
	}
	if len(addrs) == 0 {
		// No listener: no sink either, so the hot paths measure nothing.
		s, err := admin.New(admin.Config{})
		return s, func() { s.Close() }, err
	}
	rt, ok := h.Cluster().(*brokerrt.Runtime)
	if !ok {
		return nil, nil, fmt.Errorf("admin listener: the broker has no cluster runtime")
	}
	reg := prom.NewRegistry()
	sink := prom.NewSink(reg)
	minISR := h.LogDefaults().MinInsyncReplicas
	reg.MustRegister(prom.NewCollector(prom.Sources{
		Status:        rt.Status,
		DefaultMinISR: minISR,
		Logs:          func() []prom.LogStat { return logStats(eng) },
		GroupLag:      func() []prom.GroupLag { return groupLag(h, rt) },
		Connections:   func() map[string]int { return connectionCounts(srv) },
	}))
	s, err := admin.New(admin.Config{
		Listeners: addrs,
		Gatherer:  reg,
		Ready:     func() (bool, string) { return readiness(rt.Status()) },
		Cluster:   func() any { return clusterDocument(rt.Status(), h.ClusterID(), minISR) },
		Logf:      logger.Printf,
	})
	if err != nil {
		return nil, nil, err
	}
	metrics.Set(sink)
	bound := make([]string, 0, len(addrs))
	for _, a := range s.Addrs() {
		bound = append(bound, a.String())
	}
	// Tests binding port 0 read the address from this line.
	logger.Printf("admin listener on %s: /metrics /health/live /health/ready /v1/cluster", strings.Join(bound, ","))
	return s, func() {
		s.Close()
		metrics.Set(nil)
	}, nil
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
