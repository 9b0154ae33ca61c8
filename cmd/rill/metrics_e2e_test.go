package main

// End-to-end tests of the admin listener (cmd/rill/admin.go): a real
// `rill serve` with admin.listeners on an ephemeral port, scraped over
// HTTP.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// adminOnAnyPort is the flag that binds the admin listener on an
// ephemeral loopback port; adminURL reads it back from the log.
var adminOnAnyPort = []string{"--set", "admin.listeners=127.0.0.1:0"}

var adminListening = regexp.MustCompile(`msg="admin listener" .*\baddr=(127\.0\.0\.1:\d+)`)

// adminURL is the broker's admin listener base URL, once its log says it
// bound it (after the Kafka listeners and the cluster runtime start).
func adminURL(t *testing.T, b *broker) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := adminListening.FindStringSubmatch(b.log()); m != nil {
			return "http://" + m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin listener in the log:\n%s", b.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics into series → value; a series is written as
// Prometheus prints it: name{label="value",...} with labels sorted.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	code, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sumOf adds every series of a metric name (any labels).
func sumOf(m map[string]float64, name string) float64 {
	var n float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			n += v
		}
	}
	return n
}

// waitScrape scrapes until cond holds, for up to a minute.
func waitScrape(t *testing.T, base, what string, cond func(map[string]float64) bool, logs func() string) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := scrape(t, base)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			var last []string
			for k, v := range m {
				if strings.HasPrefix(k, "rill_") && !strings.Contains(k, "_bucket") {
					last = append(last, fmt.Sprintf("%s %v", k, v))
				}
			}
			sort.Strings(last)
			t.Fatalf("timed out waiting for %s; last scrape:\n%s\n%s", what, strings.Join(last, "\n"), logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// recordBatchOverhead is a v2 RecordBatch's bytes before its records
// (base offset through record count): kgo's CompressedBytes counts only
// the records, Kafka's BytesInPerSec (and Rill's bytes in) the whole batch.
const recordBatchOverhead = 61

// A single broker: bytes and messages in equal what the producer wrote,
// bytes out cover what the consumer read, request, connection and log
// size metrics move, a group's lag is the high watermark less its commit,
// the probes answer and /v1/cluster describes the broker.
// Both transports: their request paths report separately
// (netserver/metrics.go).
func TestAdminMetricsSingleBroker(t *testing.T) {
	for _, transport := range []string{"netconn", "gnet"} {
		t.Run(transport, func(t *testing.T) { adminMetricsSingleBroker(t, transport) })
	}
}

func adminMetricsSingleBroker(t *testing.T, transport string) {
	b := startBroker(t, t.TempDir(), append([]string{"--set", "net.transport=" + transport}, adminOnAnyPort...)...)
	base := adminURL(t, b)
	if code, _ := httpGet(t, base+"/health/live"); code != http.StatusOK {
		t.Fatalf("/health/live: %d", code)
	}
	const topic, n, k = "metrics-e2e", 200, 120
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(client(t, b.addr)).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := httpGet(t, base+"/health/ready")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/ready: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var batchBytes, batchRecords atomic.Int64
	prod := client(t, b.addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.WithHooks(batchCounter{&batchBytes, &batchRecords}))
	for i := 0; i < n; i++ {
		prod.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("value-%04d-%s", i, strings.Repeat("x", i%50)))}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(consumeAll(t, b.addr, topic, n)); got != n {
		t.Fatalf("consumed %d, want %d", got, n)
	}
	adm := kadm.NewClient(client(t, b.addr))
	var commit kadm.Offsets
	commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: k, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "metrics-lag", commit); err != nil {
		t.Fatal(err)
	}

	series := func(name, labels string) string { return name + "{" + labels + "}" }
	tl := `topic="` + topic + `"`
	lagSeries := series("rill_consumer_group_lag", `group="metrics-lag",partition="0",`+tl)
	m := waitScrape(t, base, "the group's lag", func(m map[string]float64) bool { _, ok := m[lagSeries]; return ok }, b.log)

	// Kafka's BytesInPerSec counts whole record batches as appended;
	// nothing was retried, so every batch kgo wrote was appended once.
	if got, want := m[series("rill_topic_bytes_in_total", tl)], float64(batchBytes.Load()); got != want || want == 0 {
		t.Errorf("bytes in %v, want the %v bytes of the batches written", got, want)
	}
	if got := m[series("rill_topic_messages_in_total", tl)]; got != n || batchRecords.Load() != n {
		t.Errorf("messages in %v (kgo wrote %d), want %d", got, batchRecords.Load(), n)
	}
	// The consumer read every batch at least once; a batch a fetch
	// ends in part of may be sent again.
	if got := m[series("rill_topic_bytes_out_total", tl)]; got < float64(batchBytes.Load()) {
		t.Errorf("bytes out %v, want at least the %d bytes in", got, batchBytes.Load())
	}
	if got := m[series("rill_log_size_bytes", `partition="0",`+tl)]; got != float64(batchBytes.Load()) {
		t.Errorf("log size %v, want the %d bytes appended", got, batchBytes.Load())
	}
	if got := m[series("rill_log_segments", `partition="0",`+tl)]; got != 1 {
		t.Errorf("log segments %v, want 1", got)
	}
	if got := m[lagSeries]; got != n-k {
		t.Errorf("group lag %v, want %d (high watermark %d less commit %d)", got, n-k, n, k)
	}
	if got := m[series("rill_requests_total", `api="Produce"`)]; got < 1 {
		t.Errorf("produce requests %v, want > 0", got)
	}
	if got := m[series("rill_request_total_seconds_count", `api="Fetch"`)]; got < 1 {
		t.Errorf("fetch latency observations %v, want > 0", got)
	}
	// kgo's consumer fetches in an incremental session (KIP-227).
	if got := m["rill_fetch_sessions"]; got < 1 || m["rill_fetch_session_partitions"] < 1 {
		t.Errorf("fetch sessions %v (partitions %v), want the consumer's", got, m["rill_fetch_session_partitions"])
	}
	if got := sumOf(m, "rill_connections"); got < 1 {
		t.Errorf("open connections %v, want > 0 while clients are connected", got)
	}
	// A single broker leads every partition: the topic's and
	// __consumer_offsets'.
	if led, all := m["rill_leader_partitions"], m["rill_partitions"]; led != all || led < 2 {
		t.Errorf("leads %v of %v partitions, want all, the topic's and __consumer_offsets'", led, all)
	}
	for name, want := range map[string]float64{"rill_broker_ready": 1, "rill_active_controller": 1,
		"rill_under_replicated_partitions": 0, "rill_offline_partitions": 0, `rill_purgatory_size{purgatory="produce"}`: 0} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if m["go_goroutines"] <= 0 || m["process_open_fds"] <= 0 {
		t.Errorf("runtime and process collectors missing: goroutines %v, fds %v", m["go_goroutines"], m["process_open_fds"])
	}

	code, body := httpGet(t, base+"/v1/cluster")
	var doc struct {
		NodeID       int32  `json:"node_id"`
		ClusterID    string `json:"cluster_id"`
		ControllerID int32  `json:"controller_id"`
		Ready        bool   `json:"ready"`
		Brokers      []struct {
			ID    int32 `json:"id"`
			Alive bool  `json:"alive"`
		} `json:"brokers"`
		Partitions struct {
			Total, Leaders, UnderReplicated int
		} `json:"partitions"`
		Metadata struct {
			AppliedOffset uint64 `json:"applied_offset"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || code != http.StatusOK {
		t.Fatalf("/v1/cluster: %d %v\n%s", code, err, body)
	}
	if doc.NodeID != 1 || doc.ControllerID != 1 || doc.ClusterID == "" || !doc.Ready || len(doc.Brokers) != 1 || !doc.Brokers[0].Alive ||
		doc.Partitions.Total < 1 || doc.Partitions.Leaders != doc.Partitions.Total || doc.Metadata.AppliedOffset == 0 {
		t.Errorf("/v1/cluster:\n%s", body)
	}
}

// batchCounter sums the v2 record batches kgo wrote.
type batchCounter struct{ bytes, records *atomic.Int64 }

func (c batchCounter) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	c.bytes.Add(int64(m.CompressedBytes + recordBatchOverhead))
	c.records.Add(int64(m.NumRecords))
}

// Three nodes: with a follower stopped the leader reports its partition
// under-replicated; once the follower is back and caught up, it reports
// none and has expanded the ISR again.
func TestAdminMetricsUnderReplicated(t *testing.T) {
	c := startCluster(t, append([]string{"--set", "replica.lag.time.max.ms=2000", "--set", "broker.session.timeout.ms=4000",
		"--set", "broker.heartbeat.interval.ms=500"}, adminOnAnyPort...)...)
	const topic = "metrics-urp"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitScrape(t, adminURL(t, c.bs[0]), "three live brokers", func(m map[string]float64) bool {
		return m[`rill_cluster_brokers{state="live"}`] == 3
	}, c.logs)
	if _, err := c.admin(0).CreateTopic(ctx, 1, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	c.waitFor("a full ISR", func() bool { return c.fullISR(topic, 1, 0) })
	leader := int(c.partitions(0, topic)[0].Leader)
	follower := leader%3 + 1 // node ids 1-3
	base := adminURL(t, c.bs[leader-1])
	waitScrape(t, base, "no under-replicated partitions", func(m map[string]float64) bool {
		return m["rill_under_replicated_partitions"] == 0 && m["rill_leader_partitions"] >= 1
	}, c.logs)

	c.bs[follower-1].stop()
	waitScrape(t, base, "an under-replicated partition on the leader", func(m map[string]float64) bool {
		// The ISR shrinks by the leader (rill_isr_shrinks_total) or by the
		// controller fencing the stopped broker, whichever comes first.
		return m["rill_under_replicated_partitions"] >= 1
	}, c.logs)

	c.start(follower - 1)
	m := waitScrape(t, base, "the follower back in the ISR", func(m map[string]float64) bool {
		return m["rill_under_replicated_partitions"] == 0
	}, c.logs)
	if m["rill_isr_expands_total"] < 1 {
		t.Errorf("ISR expands %v after the follower returned, want > 0", m["rill_isr_expands_total"])
	}
	if m[`rill_cluster_brokers{state="live"}`] != 3 {
		t.Errorf("live brokers %v, want 3", m[`rill_cluster_brokers{state="live"}`])
	}
}

// An admin listener that cannot bind is a start-up error: the broker
// exits non-zero, saying so.
func TestAdminListenerBindFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, rillBin, "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--set", "admin.listeners="+taken.Addr().String()).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() <= 0 || !strings.Contains(string(out), "admin listener "+taken.Addr().String()) {
		t.Fatalf("rill serve with its admin port taken: %v, want a non-zero exit naming the admin listener\n%s", err, out)
	}
}
