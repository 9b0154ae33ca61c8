// Package logging builds the broker's structured, levelled logger
// (log/slog) and keeps its levels changeable while the broker runs.
//
// # Contract
//
// One Logging value exists per process. It owns the output (text or JSON
// lines on one io.Writer), a base level, and one level override slot per
// component. Code below cmd/rill never imports this package: it receives a
// *slog.Logger (nil meaning discard) that Component returned, so the
// engine and the replication layer stay free of process concerns.
//
// A record is written when its level is at least its component's
// effective level: the component's override when one is set, else the
// base level. The component of a logger is the value of its "component"
// attribute, bound with Component(name) (or logger.With("component",
// name) on a logger of this package); a logger without one follows the
// base level. The check happens in Handler.Enabled, before slog builds the
// record, so a Debug call on a disabled component costs two atomic loads.
//
// # Settings
//
//	log.format             text (default) | json
//	log.level              debug | info (default) | warn | error
//	log.level.<component>  the same levels, for one component
//
// The components are listed in Components; docs/logging.md says what
// each one logs. ParseSettings reads these keys through a getter, so the
// config table (strict about key names) stays the one place that knows
// where settings come from.
//
// # Run-time changes
//
// SetLevel, SetComponentLevel and ClearComponentLevel change levels for
// every logger already handed out (the levels are slog.LevelVar values
// read on every call). Handler serves the same operations over HTTP for
// the admin API: GET /v1/loggers, PUT|POST /v1/loggers, and
// GET|PUT|POST|DELETE /v1/loggers/{component}.
//
// # Concurrency
//
// Every method is safe for concurrent use. Level changes are atomic
// stores; the component table is fixed after New except for components
// first named by Component, which are added under a mutex that is never
// held while writing a record.
package logging
