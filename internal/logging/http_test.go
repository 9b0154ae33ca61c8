package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func TestHTTPChangesLevels(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, DefaultSettings())
	h := l.Handler()
	replica := l.Component("replica")

	code, body := do(t, h, "GET", "/v1/loggers", "")
	var doc levelsDoc
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.Level != "info" || doc.Format != Text || len(doc.Components) != len(Components) {
		t.Fatalf("GET: %d %s", code, body)
	}

	replica.Debug("before")
	if code, body := do(t, h, "PUT", "/v1/loggers/replica", `{"level":"debug"}`); code != 200 || !strings.Contains(body, `"level":"debug","override":true`) {
		t.Fatalf("PUT replica: %d %s", code, body)
	}
	replica.Debug("after")
	l.Component("engine").Debug("engine stays at info")
	if got := lines(&buf); len(got) != 1 || !strings.Contains(got[0], "msg=after") {
		t.Fatalf("after PUT: %q", got)
	}

	if code, body := do(t, h, "POST", "/v1/loggers", `{"level":"error"}`); code != 200 || !strings.Contains(body, `"level":"error","components"`) {
		t.Fatalf("POST base: %d %s", code, body)
	}
	if l.Level() != slog.LevelError {
		t.Fatalf("base %v", l.Level())
	}
	if code, body := do(t, h, "DELETE", "/v1/loggers/replica", ""); code != 200 || !strings.Contains(body, `"level":"error","override":false`) {
		t.Fatalf("DELETE replica: %d %s", code, body)
	}
}

func TestHTTPRefusals(t *testing.T) {
	l := New(&bytes.Buffer{}, DefaultSettings())
	h := l.Handler()
	for _, c := range []struct {
		method, path, body string
		code               int
	}{
		{"PUT", "/v1/loggers/replica", `{"level":"verbose"}`, 400},
		{"PUT", "/v1/loggers/replica", `not json`, 400},
		{"PUT", "/v1/loggers/replica", `{"lvl":"debug"}`, 400},
		{"PUT", "/v1/loggers", `{"level":""}`, 400},
		{"PUT", "/v1/loggers/nosuch", `{"level":"debug"}`, 404},
		{"GET", "/v1/loggers/nosuch", ``, 404},
		{"DELETE", "/v1/loggers/nosuch", ``, 404},
		{"PATCH", "/v1/loggers", `{"level":"debug"}`, 405},
	} {
		if code, body := do(t, h, c.method, c.path, c.body); code != c.code {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, code, body, c.code)
		}
	}
	if l.Level() != slog.LevelInfo {
		t.Errorf("a refused request changed the base level to %v", l.Level())
	}
	for _, c := range l.Levels() {
		if c.Override {
			t.Errorf("a refused request set %+v", c)
		}
	}
}
