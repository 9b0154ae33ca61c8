package logging

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// Components are the documented component names, one per subsystem that
// logs (docs/logging.md). log.level.<component> is read for each of them;
// Component accepts other names too (they follow the base level until an
// override is set through the API), but the settings only know these.
var Components = []string{
	"server",     // cmd/rill: start-up, listeners, shutdown
	"engine",     // storage engine: open, flush, retention, compaction
	"log",        // a partition's log: recovery cuts
	"net",        // client connections: accept, limits, closes
	"handler",    // Kafka request handling: topics, producer ids, faults
	"group",      // consumer group coordinator
	"txn",        // transaction coordinator
	"controller", // controller quorum: elections, snapshots, metadata records
	"transport",  // controller quorum transport connections
	"broker",     // broker lifecycle: registration, heartbeats, metadata apply
	"replica",    // partition replicas: leadership, fetching, ISR changes
	"tls",        // TLS key and trust store reloads
	"sasl",       // SASL mechanisms' setup (OAUTHBEARER keys)
	"admin",      // the admin HTTP listener (metrics, health, log levels)
}

// levelNames are the only level spellings accepted, in order.
var levelNames = []struct {
	name  string
	level slog.Level
}{
	{"debug", slog.LevelDebug},
	{"info", slog.LevelInfo},
	{"warn", slog.LevelWarn},
	{"error", slog.LevelError},
}

// ParseLevel reads debug, info, warn or error (any case). slog's own
// parser also takes offsets such as "info+2"; operators never need them
// and a typo should fail, so they are refused.
func ParseLevel(s string) (slog.Level, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "warning" {
		t = "warn"
	}
	for _, n := range levelNames {
		if n.name == t {
			return n.level, nil
		}
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// LevelName is the lower-case name ParseLevel reads back.
func LevelName(l slog.Level) string {
	for _, n := range levelNames {
		if n.level == l {
			return n.name
		}
	}
	return strings.ToLower(l.String())
}

// component is one component's override slot. The level and whether it
// is set are two atomics: a reader may see a new level with the old set
// flag for an instant, which only means one record judged by the
// previous rule.
type component struct {
	name     string
	level    slog.LevelVar
	override atomic.Bool
}

// effective is the level records of this component must reach.
func (c *component) effective(base *slog.LevelVar) slog.Level {
	if c != nil && c.override.Load() {
		return c.level.Level()
	}
	return base.Level()
}
