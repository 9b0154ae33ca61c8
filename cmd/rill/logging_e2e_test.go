package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// With log.format=json every stderr line is one JSON object with time,
// level, msg and component; log.level=debug lets Debug records through
// (an idle connection's close).
func TestServeLogsJSONLines(t *testing.T) {
	cmd := exec.Command(rillBin, "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--set", "log.format=json", "--set", "log.level=debug", "--set", "connections.max.idle.ms=200")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var (
		mu      sync.Mutex
		records []map[string]any
		raw     []string
	)
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			err := json.Unmarshal(sc.Bytes(), &rec)
			mu.Lock()
			raw = append(raw, sc.Text())
			if err == nil {
				records = append(records, rec)
			}
			mu.Unlock()
			if a, ok := rec["addr"].(string); ok && rec["msg"] == "listening" {
				select {
				case addr <- a:
				default:
				}
			}
		}
	}()
	logs := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(raw, "\n") }
	find := func(level, msg, component string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range records {
			if r["level"] == level && r["msg"] == msg && r["component"] == component {
				return true
			}
		}
		return false
	}
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("no JSON listening record:\n%s", logs())
	}
	// An idle client connection is closed after 200 ms, at Debug.
	c, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); !find("DEBUG", "closing connection: idle", "net"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no DEBUG record for the idle connection:\n%s", logs())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit %v:\n%s", err, logs())
	}
	<-done
	for _, want := range [][3]string{
		{"INFO", "storage engine open", "engine"},
		{"INFO", "listening", "server"},
		{"INFO", "clean shutdown", "server"},
	} {
		if !find(want[0], want[1], want[2]) {
			t.Errorf("no %v record:\n%s", want, logs())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(records) != len(raw) {
		t.Errorf("%d of %d stderr lines are not JSON:\n%s", len(raw)-len(records), len(raw), strings.Join(raw, "\n"))
	}
	for _, r := range records {
		for _, k := range []string{"time", "level", "msg", "component"} {
			if _, ok := r[k].(string); !ok {
				t.Errorf("record without %s: %v", k, r)
			}
		}
	}
}

// log.level.engine=warn drops the engine's Info start-up record and
// nothing else's.
func TestServeComponentLevelOverride(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "log.level.engine=warn")
	b.stop()
	log := b.log()
	if strings.Contains(log, `msg="storage engine open"`) {
		t.Errorf("log.level.engine=warn logged the engine's Info start-up line:\n%s", log)
	}
	if !strings.Contains(log, "msg=listening component=server") {
		t.Errorf("the server's Info lines are gone too:\n%s", log)
	}
}

// A level or format the logging package does not know stops the broker
// before it opens anything, naming the key.
func TestServeRefusesBadLogSettings(t *testing.T) {
	for _, set := range []string{"log.level=verbose", "log.format=xml", "log.level.replica=loud"} {
		out, err := exec.Command(rillBin, "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--set", set).CombinedOutput()
		key := set[:strings.IndexByte(set, '=')]
		if err == nil || !strings.Contains(string(out), key) {
			t.Errorf("--set %s: %v, output %q: want a failure naming %s", set, err, out, key)
		}
	}
}

// A component's level changes at run time through the admin API
// (/v1/loggers), and the broker's records follow at once: with the handler
// at warn a topic's creation is not logged, back at info it is.
func TestServeLogLevelChangedThroughAdminAPI(t *testing.T) {
	b := startBroker(t, t.TempDir(), adminOnAnyPort...)
	base := adminURL(t, b)
	put := func(component, level string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, base+"/v1/loggers/"+component, strings.NewReader(`{"level":"`+level+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	adm := kadm.NewClient(client(t, b.addr))
	create := func(topic string) {
		t.Helper()
		if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	created := func(topic string) string { return `msg="topic created" component=handler topic=` + topic + " " }
	if code := put("handler", "warn"); code != http.StatusOK {
		t.Fatalf("PUT /v1/loggers/handler warn: %d", code)
	}
	create("quiet")
	if code := put("handler", "info"); code != http.StatusOK {
		t.Fatalf("PUT /v1/loggers/handler info: %d", code)
	}
	create("loud")
	// The creation is logged before CreateTopics answers; the test's log
	// reader may still be behind.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.log(), created("loud")) {
		if time.Now().After(deadline) {
			t.Fatalf("topic loud's creation not logged at info:\n%s", b.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(b.log(), created("quiet")) {
		t.Fatalf("topic quiet's creation logged with the handler at warn:\n%s", b.log())
	}
	// A level that does not exist is refused.
	if code := put("handler", "loud"); code != http.StatusBadRequest {
		t.Fatalf("PUT level loud: %d, want 400", code)
	}
}
