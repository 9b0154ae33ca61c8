package prom

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// recordingRegisterer keeps what is registered, to list its descriptors
// (a vector without observations is absent from Gather).
type recordingRegisterer struct{ cs []prometheus.Collector }

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	r.cs = append(r.cs, c)
	return nil
}
func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	r.cs = append(r.cs, cs...)
}
func (r *recordingRegisterer) Unregister(prometheus.Collector) bool { return false }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// registeredNames are every metric name the broker exposes: the sink's
// and collector's (from their descriptors, with a histogram's series
// suffixes) and the Go and process collectors' (gathered).
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	rec := &recordingRegisterer{}
	s := NewSink(rec)
	histograms := map[string]bool{}
	for _, h := range []*prometheus.HistogramVec{s.local, s.remote, s.send, s.total} {
		ch := make(chan *prometheus.Desc, 1)
		h.Describe(ch)
		histograms[fqName.FindStringSubmatch((<-ch).String())[1]] = true
	}
	histograms["rill_log_flush_seconds"] = true
	ch := make(chan *prometheus.Desc, 100)
	for _, c := range append(rec.cs, NewCollector(Sources{})) {
		c.Describe(ch)
	}
	close(ch)
	for d := range ch {
		name := fqName.FindStringSubmatch(d.String())[1]
		names[name] = true
		if histograms[name] {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[name+suffix] = true
			}
		}
	}
	mfs, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

// Every metric the Grafana dashboard queries exists.
func TestDashboardUsesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/grafana/rill.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana/rill.json: %v", err)
	}
	names := registeredNames(t)
	metricName := regexp.MustCompile(`\b(rill|go|process)_[a-z_]+\b`)
	used := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				used++
				if !names[n] {
					t.Errorf("panel %q queries %s, which the broker does not expose", p.Title, n)
				}
			}
		}
	}
	if used < 20 {
		t.Fatalf("the dashboard queries only %d metrics", used)
	}
}

// Every rill_ metric is documented in docs/metrics.md.
func TestMetricsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for n := range registeredNames(t) {
		if strings.HasPrefix(n, "rill_") && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_sum") && !strings.HasSuffix(n, "_count") &&
			!strings.Contains(doc, "`"+n+"`") {
			t.Errorf("%s is not in docs/metrics.md", n)
		}
	}
}
