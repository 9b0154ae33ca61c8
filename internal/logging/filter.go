package logging

import (
	"context"
	"log/slog"
)

// filter is the slog.Handler every logger of a Logging uses: it decides
// levels from the component table and hands enabled records to the
// shared output handler.
//
// The component is found once, when a "component" attribute is bound
// (WithAttrs), not per record: Enabled runs before the record exists, and
// looking at bound attributes there keeps disabled calls cheap. A
// "component" attribute passed on a single call (log.Info("x",
// "component", "net")) is therefore just an attribute; bind it with
// Component or With instead.
type filter struct {
	inner slog.Handler
	l     *Logging
	comp  *component // nil: the base level applies
	// grouped is set once WithGroup was called: attributes bound after
	// it are inside a group, so "component" there is not the component.
	grouped bool
}

func (f *filter) Enabled(_ context.Context, lv slog.Level) bool {
	return lv >= f.comp.effective(&f.l.base)
}

func (f *filter) Handle(ctx context.Context, r slog.Record) error {
	return f.inner.Handle(ctx, r)
}

func (f *filter) WithAttrs(attrs []slog.Attr) slog.Handler {
	g := *f
	g.inner = f.inner.WithAttrs(attrs)
	if !f.grouped {
		for _, a := range attrs {
			if a.Key == "component" {
				g.comp = f.l.component(a.Value.Resolve().String())
			}
		}
	}
	return &g
}

func (f *filter) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	g := *f
	g.inner = f.inner.WithGroup(name)
	g.grouped = true
	return &g
}
