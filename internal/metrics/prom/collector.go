package prom

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rillmq/rill/replication/broker"
)

// Sources are the broker state the collector reads at each scrape; any
// may be nil (its metrics are then absent). Each must be safe for
// concurrent use and cheap: a scrape calls each once.
type Sources struct {
	// Status is the broker's cluster side; DefaultMinISR the broker's
	// min.insync.replicas for topics without an override.
	Status        func() broker.Status
	DefaultMinISR int
	// Logs are the partitions with a log on this broker.
	Logs func() []LogStat
	// GroupLag is the lag of the groups this broker coordinates, on the
	// partitions it leads.
	GroupLag func() []GroupLag
	// Connections are the open client connections per listener.
	Connections func() map[string]int
	// FetchSessions is the incremental fetch session cache's size
	// (KIP-227).
	FetchSessions func() FetchSessionStats
	// Shares is the share-partition leader's size (KIP-932).
	Shares func() ShareStats
}

// ShareStats are the share sessions and the share partitions loaded on
// this broker, and the records in their in-flight windows.
type ShareStats struct {
	Sessions, Partitions int
	InFlight             int64
}

// FetchSessionStats is the fetch session cache's size and evictions.
type FetchSessionStats struct {
	Sessions, Partitions int
	Evictions            uint64
}

// LogStat is one local partition log.
type LogStat struct {
	Topic     string
	Partition int32
	Size      int64
	Segments  int
}

// GroupLag is a group's lag on one partition: the partition's high
// watermark less the group's committed offset (0 when the commit is at or
// past it).
type GroupLag struct {
	Group, Topic string
	Partition    int32
	Lag          int64
}

// Collector computes the broker's gauges at scrape time.
type Collector struct {
	src Sources
}

// NewCollector returns a collector over src; register it in the sink's
// registry.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descUnderReplicated = desc("rill_under_replicated_partitions", "Partitions led here whose ISR is smaller than their replicas.")
	descUnderMinISR     = desc("rill_under_min_isr_partitions", "Partitions led here whose ISR is smaller than min.insync.replicas.")
	descOffline         = desc("rill_offline_partitions", "Partitions without a leader, reported by the active controller only (0 elsewhere).")
	descLeaders         = desc("rill_leader_partitions", "Partitions this broker leads.")
	descReplicas        = desc("rill_partitions", "Partitions with a replica on this broker.")
	descActive          = desc("rill_active_controller", "1 on the active controller, else 0.")
	descReady           = desc("rill_broker_ready", "1 once the broker applied current metadata and serves, else 0.")
	descBrokers         = desc("rill_cluster_brokers", "Registered brokers by state (live or fenced).", "state")
	descApplied         = desc("rill_metadata_applied_offset", "Metadata log offset this broker applied.")
	descControllerOff   = desc("rill_metadata_controller_offset", "The active controller's metadata offset in its last heartbeat answer.")
	descLag             = desc("rill_metadata_offset_lag", "Controller metadata offset less the offset applied here (0 when caught up).")
	descLogSize         = desc("rill_log_size_bytes", "Bytes of a local partition log's segments.", "topic", "partition")
	descSegments        = desc("rill_log_segments", "Segments of a local partition log.", "topic", "partition")
	descGroupLag        = desc("rill_consumer_group_lag", "High watermark less committed offset, for groups coordinated and partitions led here.", "group", "topic", "partition")
	descConnections     = desc("rill_connections", "Open client connections per listener.", "listener")
	descFetchSessions   = desc("rill_fetch_sessions", "Incremental fetch sessions cached (KIP-227).")
	descFetchSessParts  = desc("rill_fetch_session_partitions", "Partitions in the cached fetch sessions.")
	descFetchSessEvict  = desc("rill_fetch_session_evictions_total", "Fetch sessions evicted to make room for new ones.")
	descShareSessions   = desc("rill_share_sessions", "Share sessions of share-group members on this broker (KIP-932).")
	descSharePartitions = desc("rill_share_partitions", "Share partitions (share group, topic partition) this broker leads and has loaded.")
	descShareInFlight   = desc("rill_share_in_flight_records", "Records in the in-flight windows of the loaded share partitions (acquired, or released and not yet redelivered).")
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUnderReplicated, descUnderMinISR, descOffline, descLeaders, descReplicas, descActive,
		descReady, descBrokers, descApplied, descControllerOff, descLag, descLogSize, descSegments, descGroupLag, descConnections,
		descFetchSessions, descFetchSessParts, descFetchSessEvict, descShareSessions, descSharePartitions, descShareInFlight} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.src.Status != nil {
		s := c.src.Status()
		n := s.Counts(c.src.DefaultMinISR)
		active := s.ControllerID == s.NodeID
		offline := 0
		if active {
			offline = n.Offline
		}
		gauge(descUnderReplicated, float64(n.UnderReplicated))
		gauge(descUnderMinISR, float64(n.UnderMinISR))
		gauge(descOffline, float64(offline))
		gauge(descLeaders, float64(n.Leaders))
		gauge(descReplicas, float64(n.Replicas))
		gauge(descActive, bool01(active))
		gauge(descReady, bool01(s.Ready))
		live, fenced := 0, 0
		for _, b := range s.Brokers {
			if b.Fenced {
				fenced++
			} else {
				live++
			}
		}
		gauge(descBrokers, float64(live), "live")
		gauge(descBrokers, float64(fenced), "fenced")
		gauge(descApplied, float64(s.MetadataOffset))
		gauge(descControllerOff, float64(s.ControllerOffset))
		gauge(descLag, float64(s.MetadataLag()))
	}
	if c.src.Logs != nil {
		for _, l := range c.src.Logs() {
			p := strconv.Itoa(int(l.Partition))
			gauge(descLogSize, float64(l.Size), l.Topic, p)
			gauge(descSegments, float64(l.Segments), l.Topic, p)
		}
	}
	if c.src.GroupLag != nil {
		for _, g := range c.src.GroupLag() {
			gauge(descGroupLag, float64(g.Lag), g.Group, g.Topic, strconv.Itoa(int(g.Partition)))
		}
	}
	if c.src.Connections != nil {
		for l, n := range c.src.Connections() {
			gauge(descConnections, float64(n), l)
		}
	}
	if c.src.FetchSessions != nil {
		fs := c.src.FetchSessions()
		gauge(descFetchSessions, float64(fs.Sessions))
		gauge(descFetchSessParts, float64(fs.Partitions))
		ch <- prometheus.MustNewConstMetric(descFetchSessEvict, prometheus.CounterValue, float64(fs.Evictions))
	}
	if c.src.Shares != nil {
		ss := c.src.Shares()
		gauge(descShareSessions, float64(ss.Sessions))
		gauge(descSharePartitions, float64(ss.Partitions))
		gauge(descShareInFlight, float64(ss.InFlight))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
