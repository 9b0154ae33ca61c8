package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// lines splits w's output into non-empty lines.
func lines(b *bytes.Buffer) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestBaseLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Settings{Format: Text, Level: slog.LevelWarn})
	log := l.Component("engine")
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	got := lines(&buf)
	if len(got) != 2 || !strings.Contains(got[0], "level=WARN msg=w component=engine") || !strings.Contains(got[1], "level=ERROR msg=e") {
		t.Fatalf("at warn: %q", got)
	}
	buf.Reset()
	l.SetLevel(slog.LevelDebug)
	log.Debug("d", "k", 1)
	if got := lines(&buf); len(got) != 1 || !strings.Contains(got[0], "level=DEBUG msg=d component=engine k=1") {
		t.Fatalf("after SetLevel(debug): %q", got)
	}
}

func TestComponentOverride(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Settings{Format: Text, Level: slog.LevelInfo, Overrides: map[string]slog.Level{"replica": slog.LevelDebug, "engine": slog.LevelWarn}})
	l.Component("replica").Debug("fetch")
	l.Component("engine").Info("open")
	l.Component("net").Debug("accept")
	l.Component("net").Info("listening")
	l.Logger().Info("no component")
	got := lines(&buf)
	want := []string{"msg=fetch component=replica", "msg=listening component=net", `msg="no component"`}
	if len(got) != len(want) {
		t.Fatalf("got %q, want lines with %q", got, want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("line %d %q lacks %q", i, got[i], w)
		}
	}
	// The override outlives base changes; clearing it follows the base.
	buf.Reset()
	l.SetLevel(slog.LevelError)
	l.Component("replica").Debug("still")
	if !l.ClearComponentLevel("replica") {
		t.Fatal("replica unknown")
	}
	l.Component("replica").Warn("gone")
	if got := lines(&buf); len(got) != 1 || !strings.Contains(got[0], "msg=still") {
		t.Fatalf("after clearing: %q", got)
	}
}

// A logger handed out before a change follows it: components hold the
// level slot, not a copy of the level.
func TestRuntimeChangeReachesExistingLoggers(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, DefaultSettings())
	log := l.Component("group").With("group", "g1").WithGroup("member")
	log.Debug("hidden")
	if !l.SetComponentLevel("group", slog.LevelDebug) {
		t.Fatal("group unknown")
	}
	log.Debug("shown", "id", "m1")
	got := lines(&buf)
	if len(got) != 1 || !strings.Contains(got[0], "msg=shown component=group group=g1 member.id=m1") {
		t.Fatalf("got %q", got)
	}
}

// A "component" attribute inside a group is data, not the component.
func TestGroupedComponentAttrIsNotAComponent(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Settings{Level: slog.LevelInfo, Overrides: map[string]slog.Level{"net": slog.LevelError}})
	l.Component("engine").WithGroup("peer").With("component", "net").Info("kept")
	if got := lines(&buf); len(got) != 1 {
		t.Fatalf("got %q", got)
	}
}

func TestJSONOutputParses(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Settings{Format: JSON, Level: slog.LevelDebug})
	l.Component("txn").Debug("markers written", "transactional.id", "t1", "partitions", 3)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	for k, v := range map[string]any{"level": "DEBUG", "msg": "markers written", "component": "txn", "transactional.id": "t1", "partitions": 3.0} {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, rec[k], v, buf.String())
		}
	}
	if _, ok := rec["time"]; !ok {
		t.Errorf("no time: %s", buf.String())
	}
}

func TestParseSettings(t *testing.T) {
	props := map[string]string{"log.format": "json", "log.level": "WARN", "log.level.replica": "debug", "log.level.nosuch": "debug"}
	get := func(k string) (string, bool) { v, ok := props[k]; return v, ok }
	s, err := ParseSettings(get)
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != JSON || s.Level != slog.LevelWarn || len(s.Overrides) != 1 || s.Overrides["replica"] != slog.LevelDebug {
		t.Fatalf("%+v", s)
	}
	s, err = ParseSettings(func(string) (string, bool) { return "", false })
	if err != nil || s.Format != Text || s.Level != slog.LevelInfo || s.Overrides != nil {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
	for key, bad := range map[string]string{"log.format": "xml", "log.level": "info+2", "log.level.engine": "verbose"} {
		_, err := ParseSettings(func(k string) (string, bool) { return bad, k == key })
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v, want an error naming the key", key, bad, err)
		}
	}
}

func TestLevelsListsEveryComponent(t *testing.T) {
	l := New(&bytes.Buffer{}, Settings{Level: slog.LevelInfo, Overrides: map[string]slog.Level{"tls": slog.LevelError}})
	ls := l.Levels()
	if len(ls) != len(Components) {
		t.Fatalf("%d components listed, want %d", len(ls), len(Components))
	}
	for _, c := range ls {
		want := ComponentLevel{Component: c.Component, Level: "info"}
		if c.Component == "tls" {
			want = ComponentLevel{Component: "tls", Level: "error", Override: true}
		}
		if c != want {
			t.Errorf("%+v, want %+v", c, want)
		}
	}
}

// Level changes race with logging on other goroutines (run with -race):
// the levels are atomics, and the component table's mutex is not taken
// per record.
func TestConcurrentLevelChanges(t *testing.T) {
	var buf syncBuffer
	l := New(&buf, DefaultSettings())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			l.SetComponentLevel("net", slog.Level(4*(i%4)-4))
			l.SetLevel(slog.Level(4 * (i % 3)))
			l.Levels()
		}
	}()
	log := l.Component("net")
	for range 1000 {
		log.Debug("d")
		log.Error("e")
	}
	<-done
	if n := strings.Count(buf.String(), "level=ERROR msg=e component=net"); n != 1000 {
		t.Fatalf("%d error records of 1000 (Error is at or above every level set)", n)
	}
}

func TestDiscardWritesNothing(t *testing.T) {
	l := Discard()
	log := l.Component("engine")
	if log.Enabled(t.Context(), slog.LevelError) {
		t.Fatal("Discard's loggers are enabled at Error")
	}
	log.Error("dropped") // and no writer to reach
}

// syncBuffer is a bytes.Buffer safe for slog's concurrent writes and a
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// SettingKeys is exactly what ParseSettings asks the getter for.
func TestSettingKeysAreWhatParseReads(t *testing.T) {
	asked := map[string]bool{}
	if _, err := ParseSettings(func(k string) (string, bool) { asked[k] = true; return "", false }); err != nil {
		t.Fatal(err)
	}
	keys := SettingKeys()
	if len(keys) != len(asked) {
		t.Fatalf("SettingKeys %v, ParseSettings read %v", keys, asked)
	}
	for _, k := range keys {
		if !asked[k] {
			t.Errorf("%s listed but not read", k)
		}
	}
}
