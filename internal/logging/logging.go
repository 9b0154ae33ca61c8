package logging

import (
	"io"
	"log/slog"
	"sort"
	"sync"
)

// Logging is the process's logger and its level table.
type Logging struct {
	format Format
	base   slog.LevelVar
	// output is the encoder every logger shares; it never filters (its
	// level is below Debug): the level decision is filter's alone.
	output slog.Handler
	root   *slog.Logger

	mu         sync.Mutex // guards components (the map, not the levels)
	components map[string]*component
}

// New builds a Logging writing s.Format lines to w. Writes to w are
// serialized by slog's handlers; w is not closed.
func New(w io.Writer, s Settings) *Logging {
	opts := &slog.HandlerOptions{Level: slog.Level(-1 << 10)}
	l := &Logging{format: s.Format, components: map[string]*component{}}
	if s.Format == JSON {
		l.output = slog.NewJSONHandler(w, opts)
	} else {
		l.format = Text
		l.output = slog.NewTextHandler(w, opts)
	}
	l.base.Set(s.Level)
	for _, name := range Components {
		l.components[name] = &component{name: name}
	}
	for name, lv := range s.Overrides {
		c := l.component(name)
		c.level.Set(lv)
		c.override.Store(true)
	}
	l.root = slog.New(&filter{inner: l.output, l: l})
	return l
}

// Logger is the logger without a component: it follows the base level.
func (l *Logging) Logger() *slog.Logger { return l.root }

// Component is the logger of one component: its records carry
// component=name and are filtered by that component's level.
func (l *Logging) Component(name string) *slog.Logger {
	return l.root.With("component", name)
}

// component returns name's slot, adding it when it is new.
func (l *Logging) component(name string) *component {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.components[name]
	if c == nil {
		c = &component{name: name}
		l.components[name] = c
	}
	return c
}

// known returns name's slot, or nil when nothing named it yet.
func (l *Logging) known(name string) *component {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.components[name]
}

// SetLevel changes the base level.
func (l *Logging) SetLevel(lv slog.Level) { l.base.Set(lv) }

// Level is the base level.
func (l *Logging) Level() slog.Level { return l.base.Level() }

// SetComponentLevel sets name's override; it reports false (changing
// nothing) when no logger or setting ever named the component.
func (l *Logging) SetComponentLevel(name string, lv slog.Level) bool {
	c := l.known(name)
	if c == nil {
		return false
	}
	c.level.Set(lv)
	c.override.Store(true)
	return true
}

// ClearComponentLevel removes name's override, so it follows the base
// level again; false when the component is unknown.
func (l *Logging) ClearComponentLevel(name string) bool {
	c := l.known(name)
	if c == nil {
		return false
	}
	c.override.Store(false)
	return true
}

// ComponentLevel is one component's state.
type ComponentLevel struct {
	Component string `json:"component"`
	Level     string `json:"level"`    // effective level
	Override  bool   `json:"override"` // whether Level is the component's own
}

// Levels lists every component, sorted by name, with its effective level.
func (l *Logging) Levels() []ComponentLevel {
	l.mu.Lock()
	cs := make([]*component, 0, len(l.components))
	for _, c := range l.components {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	out := make([]ComponentLevel, len(cs))
	for i, c := range cs {
		out[i] = ComponentLevel{Component: c.name, Level: LevelName(c.effective(&l.base)), Override: c.override.Load()}
	}
	return out
}

// Format is the output encoding.
func (l *Logging) Format() Format { return l.format }

// Discard is a Logging that writes nothing, for code paths that build
// what a running broker logs through but only validate settings.
func Discard() *Logging {
	l := New(io.Discard, DefaultSettings())
	l.base.Set(slog.Level(1 << 10)) // above Error: Enabled is false for all
	return l
}
