package prom

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/replication/broker"
)

// series gathers reg into "name{k=v,...}" → value (a histogram's sample
// count, a counter's or gauge's value).
func series(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestSink(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewSink(reg)
	s.Produced("orders", 300, 7)
	s.Produced("orders", 200, 3)
	s.Fetched("orders", 120, false)
	s.Fetched("orders", 500, true)
	s.Request(metrics.Request{APIKey: 0, Local: time.Millisecond, Remote: 2 * time.Millisecond, Send: time.Microsecond})
	s.Request(metrics.Request{APIKey: 1, Local: time.Millisecond})
	s.Parked(metrics.FetchPurgatory, 1)
	s.Parked(metrics.FetchPurgatory, 1)
	s.Parked(metrics.FetchPurgatory, -1)
	s.Flushed(3 * time.Millisecond)
	s.ISRChanged(true)
	s.ISRChanged(true)
	s.ISRChanged(false)
	got := series(t, reg)
	for k, want := range map[string]float64{
		"rill_topic_bytes_in_total{topic=orders}":              500,
		"rill_topic_messages_in_total{topic=orders}":           10,
		"rill_topic_bytes_out_total{topic=orders}":             120,
		"rill_topic_replication_bytes_out_total{topic=orders}": 500,
		"rill_requests_total{api=Produce}":                     1,
		"rill_requests_total{api=Fetch}":                       1,
		"rill_request_remote_seconds{api=Produce}":             1,
		"rill_request_total_seconds{api=Fetch}":                1,
		"rill_purgatory_size{purgatory=fetch}":                 1,
		"rill_purgatory_size{purgatory=produce}":               0,
		"rill_log_flush_seconds{}":                             1,
		"rill_isr_shrinks_total{}":                             2,
		"rill_isr_expands_total{}":                             1,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

func TestCollector(t *testing.T) {
	tp := func(p int32) kafka.TopicPartition { return kafka.TopicPartition{Topic: "t", Partition: p} }
	status := broker.Status{NodeID: 1, ControllerID: 1, Ready: true, MetadataOffset: 40, ControllerOffset: 42,
		Brokers: []broker.BrokerStatus{{ID: 1}, {ID: 2}, {ID: 3, Fenced: true}},
		Partitions: []broker.PartitionStatus{
			{TopicPartition: tp(0), Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}},
			{TopicPartition: tp(1), Leader: -1, Replicas: []int32{3}, ISR: []int32{3}},
		}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(Sources{
		Status:        func() broker.Status { return status },
		DefaultMinISR: 3,
		Logs:          func() []LogStat { return []LogStat{{Topic: "t", Partition: 0, Size: 4096, Segments: 2}} },
		GroupLag:      func() []GroupLag { return []GroupLag{{Group: "g", Topic: "t", Partition: 0, Lag: 5}} },
		Connections:   func() map[string]int { return map[string]int{"PLAINTEXT": 3} },
	}))
	got := series(t, reg)
	for k, want := range map[string]float64{
		"rill_under_replicated_partitions{}":                   1,
		"rill_under_min_isr_partitions{}":                      1,
		"rill_offline_partitions{}":                            1,
		"rill_leader_partitions{}":                             1,
		"rill_partitions{}":                                    1,
		"rill_active_controller{}":                             1,
		"rill_broker_ready{}":                                  1,
		"rill_cluster_brokers{state=live}":                     2,
		"rill_cluster_brokers{state=fenced}":                   1,
		"rill_metadata_applied_offset{}":                       40,
		"rill_metadata_controller_offset{}":                    42,
		"rill_metadata_offset_lag{}":                           2,
		"rill_log_size_bytes{partition=0,topic=t}":             4096,
		"rill_log_segments{partition=0,topic=t}":               2,
		"rill_consumer_group_lag{group=g,partition=0,topic=t}": 5,
		"rill_connections{listener=PLAINTEXT}":                 3,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	// Offline partitions are the active controller's to report.
	status.ControllerID = 2
	if got := series(t, reg); got["rill_offline_partitions{}"] != 0 || got["rill_active_controller{}"] != 0 {
		t.Errorf("not the controller: offline %v active %v, want 0 and 0", got["rill_offline_partitions{}"], got["rill_active_controller{}"])
	}
}
