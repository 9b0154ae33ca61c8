package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "rill_test_total", Help: "a test counter"})
	reg.MustRegister(c)
	c.Add(3)
	var ready atomic.Bool
	s, err := New(Config{
		Listeners: []string{"127.0.0.1:0"},
		Gatherer:  reg,
		Ready: func() (bool, string) {
			if ready.Load() {
				return true, ""
			}
			return false, "metadata not caught up"
		},
		Cluster: func() any { return map[string]int{"node_id": 7} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Handle("GET /v1/loggers", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "mounted") }))
	base := "http://" + s.Addrs()[0].String()

	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "rill_test_total 3") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, _ := get(t, base+"/health/live"); code != 200 {
		t.Errorf("/health/live: %d", code)
	}
	code, body := get(t, base+"/health/ready")
	var r struct {
		Ready  bool
		Reason string
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 503 || r.Ready || r.Reason != "metadata not caught up" {
		t.Errorf("/health/ready before ready: %d %q (%v)", code, body, err)
	}
	ready.Store(true)
	if code, _ := get(t, base+"/health/ready"); code != 200 {
		t.Errorf("/health/ready when ready: %d", code)
	}
	if code, body := get(t, base+"/v1/cluster"); code != 200 || !strings.Contains(body, `"node_id": 7`) {
		t.Errorf("/v1/cluster: %d %s", code, body)
	}
	if code, body := get(t, base+"/v1/loggers"); code != 200 || body != "mounted" {
		t.Errorf("mounted handler: %d %s", code, body)
	}
}

func TestBindFailureIsAnError(t *testing.T) {
	s, err := New(Config{Listeners: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := New(Config{Listeners: []string{"127.0.0.1:0", s.Addrs()[0].String()}}); err == nil {
		s2.Close()
		t.Fatal("binding a port in use succeeded")
	}
}

func TestParseListeners(t *testing.T) {
	got, err := ParseListeners(" 127.0.0.1:9644, [::1]:9645 ,")
	if err != nil || len(got) != 2 || got[0] != "127.0.0.1:9644" || got[1] != "[::1]:9645" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := ParseListeners(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %q, %v", got, err)
	}
	if _, err := ParseListeners("9644"); err == nil {
		t.Fatal("a bare port was accepted")
	}
}
