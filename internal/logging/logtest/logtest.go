// Package logtest gives tests a *slog.Logger that writes to the test's
// log and remembers every line, so a test can both see what the code
// under test logged and assert on it. It imports testing, so only _test
// files may import it (the broker binary never does).
//
// Lines are slog's text format without the time attribute, for example
//
//	level=WARN msg="recovery cut segment" component=log partition=t-0 bytes=70
//
// so assertions match on `msg="…"` and `key=value` substrings. Every level,
// Debug included, is recorded.
package logtest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Recorder is a logger's memory of its lines.
type Recorder struct {
	t  testing.TB // nil: not echoed
	mu sync.Mutex
	// partial holds bytes of a line not yet ended by '\n' (slog writes a
	// whole line per call, but nothing promises it).
	partial []byte
	lines   []string
}

// New is a logger echoing every record to t.Log and recording it.
func New(t testing.TB) (*slog.Logger, *Recorder) {
	r := &Recorder{t: t}
	return r.logger(), r
}

// Logger is New's logger, for tests that only want to see the lines.
func Logger(t testing.TB) *slog.Logger {
	l, _ := New(t)
	return l
}

// Discarding records without echoing: for tests whose output would drown
// the test log (fuzzing, simulations) but still want to assert on lines.
func Discarding() (*slog.Logger, *Recorder) {
	r := &Recorder{}
	return r.logger(), r
}

func (r *Recorder) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// Write takes slog's output, one or more lines.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.partial = append(r.partial, p...)
	var done []string
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		done = append(done, string(r.partial[:i]))
		r.partial = r.partial[i+1:]
	}
	r.lines = append(r.lines, done...)
	r.mu.Unlock()
	if r.t != nil {
		for _, l := range done {
			r.t.Log(l)
		}
	}
	return len(p), nil
}

// Lines is every line so far, oldest first.
func (r *Recorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// Containing is the lines containing every one of subs.
func (r *Recorder) Containing(subs ...string) []string {
	var out []string
next:
	for _, l := range r.Lines() {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// Count is len(Containing(subs...)).
func (r *Recorder) Count(subs ...string) int { return len(r.Containing(subs...)) }
