package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// Before the broker is attached (its logs still recovering) the admin
// listener is live and not ready, saying why.
func TestAdminListenerBeforeAttach(t *testing.T) {
	cfg, err := loadBrokerConfig(configSources{sets: []string{"admin.listeners=127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := startAdmin(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	base := "http://" + a.server.Addrs()[0].String()
	for path, want := range map[string]int{"/health/live": 200, "/health/ready": 503, "/metrics": 200} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d\n%s", path, resp.StatusCode, want, body)
		}
		if path == "/health/ready" && !strings.Contains(string(body), "recovering") {
			t.Errorf("/health/ready says %s, want the reason", body)
		}
	}
}
