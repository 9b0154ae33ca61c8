package engine

import (
	"errors"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// The active set: the logs the every-second passes (flush.ms, delayed file
// deletion) and the checkpoint visit, so that with 100,000 idle partitions
// a tick costs what the partitions that changed cost (issue 16). A log
// enters it through log.Options.OnChange (an append, a flush, a log start
// move, a truncation, a file to delete, a config change; package log,
// activity.go) and when it is created; Checkpoint records the offsets of
// the logs in it and retires those that are idle and recorded. With
// log.flush.offset.checkpoint.interval.ms 0 nothing retires until Close.
//
// Lock order: e.mu and the logs' locks before e.active; Checkpoint holds
// ckptMu, then takes e.mu and e.active in turn, never nested.

// activeLog is a log in the active set.
type activeLog struct {
	l  *log.Log
	tp kafka.TopicPartition
}

// markActive adds l to the active set, and to the compacted logs when its
// cleanup.policy says so (a config change reports a change too); it is
// log.Options.OnChange, called possibly with l's locks held.
func (e *Engine) markActive(l *log.Log, tp kafka.TopicPartition) {
	e.active.Lock()
	e.active.logs[l] = tp
	if l.CleanupCompact() {
		e.active.compacted[l] = tp
	}
	e.active.Unlock()
}

// noteOpened records a log that load opened: compacted logs are the only
// ones the cleaner visits.
func (e *Engine) noteOpened(l *log.Log, tp kafka.TopicPartition) {
	if l.CleanupCompact() {
		e.active.Lock()
		e.active.compacted[l] = tp
		e.active.Unlock()
	}
}

// retire takes l out of the active set (not out of the compacted logs).
func (e *Engine) retire(l *log.Log) {
	e.active.Lock()
	delete(e.active.logs, l)
	e.active.Unlock()
}

// forget drops a deleted partition's log from both sets.
func (e *Engine) forget(l *log.Log) {
	e.active.Lock()
	delete(e.active.logs, l)
	delete(e.active.compacted, l)
	e.active.Unlock()
}

// compactedLogs returns the logs with cleanup.policy=compact that the
// engine still holds, forgetting those whose policy changed.
func (e *Engine) compactedLogs() []activeLog {
	e.active.Lock()
	out := make([]activeLog, 0, len(e.active.compacted))
	for l, tp := range e.active.compacted {
		if !l.CleanupCompact() {
			delete(e.active.compacted, l)
			continue
		}
		out = append(out, activeLog{l, tp})
	}
	e.active.Unlock()
	return e.live(out)
}

// activeLogs returns the active set's logs that the engine still holds.
func (e *Engine) activeLogs() []activeLog {
	e.active.Lock()
	out := make([]activeLog, 0, len(e.active.logs))
	for l, tp := range e.active.logs {
		out = append(out, activeLog{l, tp})
	}
	e.active.Unlock()
	return e.live(out)
}

// live filters out logs the engine no longer holds (a deleted partition's
// log may report a change while it closes).
func (e *Engine) live(out []activeLog) []activeLog {
	e.mu.RLock()
	live := out[:0]
	for _, a := range out {
		if e.mu.logs[a.tp] == a.l {
			live = append(live, a)
		}
	}
	e.mu.RUnlock()
	return live
}

// initCheckpoints fills the checkpoint cache from the opened logs after
// load; the files are stale when they differ from it (a crash, a deleted
// partition's leftover line, or no files yet).
func (e *Engine) initCheckpoints(rps, lsos map[kafka.TopicPartition]int64) {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	e.ckpt.rps, e.ckpt.lsos = map[kafka.TopicPartition]int64{}, map[kafka.TopicPartition]int64{}
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.ckpt.stale = len(rps) != len(e.mu.logs) || len(lsos) != len(e.mu.logs)
	for tp, l := range e.mu.logs {
		rp, lso := l.RecoveryPoint(), l.LogStartOffset()
		e.ckpt.rps[tp], e.ckpt.lsos[tp] = rp, lso
		if old, ok := rps[tp]; !ok || old != rp {
			e.ckpt.stale = true
		}
		if old, ok := lsos[tp]; !ok || old != lso {
			e.ckpt.stale = true
		}
	}
}

// forgetCheckpoint drops a deleted partition from the checkpoints.
func (e *Engine) forgetCheckpoint(tp kafka.TopicPartition) {
	e.ckptMu.Lock()
	delete(e.ckpt.rps, tp)
	delete(e.ckpt.lsos, tp)
	e.ckpt.stale = true
	e.ckptMu.Unlock()
}

// Checkpoint writes the recovery points and log start offsets when any
// changed since the files were last written (each is rewritten whole,
// atomically), then retires the active logs that are idle and recorded.
func (e *Engine) Checkpoint() error {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	active := e.activeLogs()
	changed := e.ckpt.stale
	for _, a := range active {
		rp, lso := a.l.RecoveryPoint(), a.l.LogStartOffset()
		if old, ok := e.ckpt.rps[a.tp]; !ok || old != rp {
			e.ckpt.rps[a.tp], changed = rp, true
		}
		if old, ok := e.ckpt.lsos[a.tp]; !ok || old != lso {
			e.ckpt.lsos[a.tp], changed = lso, true
		}
	}
	if changed {
		err := errors.Join(
			writeCheckpoint(e.fs, e.cfg.DataDir, recoveryPointFile, e.ckpt.rps),
			writeCheckpoint(e.fs, e.cfg.DataDir, logStartOffsetFile, e.ckpt.lsos))
		e.ckpt.stale = err != nil
		if err != nil {
			return err
		}
	}
	for _, a := range active {
		if !a.l.Idle() {
			continue
		}
		e.retire(a.l)
		a.l.Rearm()
		// A change between the check above and Rearm reported nothing:
		// look once more (the offsets are atomics, read after Rearm).
		if !a.l.Idle() || a.l.RecoveryPoint() != e.ckpt.rps[a.tp] || a.l.LogStartOffset() != e.ckpt.lsos[a.tp] {
			e.markActive(a.l, a.tp)
		}
	}
	return nil
}
