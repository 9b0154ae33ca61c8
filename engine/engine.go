// Package engine is the storage engine's facade: it opens every partition
// log under a data directory, recovers them after a crash, and runs the
// background work (flush.ms, retention, compaction, checkpoints, delayed file
// deletion).
//
// Layout of the data directory:
//
//	<data>/
//	  .lock                               held by the owning process (package dirlock)
//	  .rill_cleanshutdown                 present only after a clean Close
//	  recovery-point-offset-checkpoint    per partition: offsets below are durable
//	  log-start-offset-checkpoint         per partition: DeleteRecords/retention start
//	  <topic>-<partition>/                one log each (package log)
//
// Ownership: one engine, in one process, owns a data directory. Open takes
// the directory lock (dirlock.Acquire) before it reads or writes anything
// there, unless Config.Lock brings one the caller already holds; a second
// Open of a held directory fails with an error matching dirlock.ErrInUse.
// The clean-shutdown marker vouches that no log needs recovery, so only
// the lock holder writes it, in Close, after every log closed cleanly and
// the checkpoints were written (markClean).
//
// Start-up: the clean-shutdown marker is read and removed (then synced). With
// the marker, logs open without scanning. Without it, every log scans from
// its checkpointed recovery point, truncates at the first invalid batch and
// rebuilds indexes (package log). Logs open on openWorkers goroutines, so
// recovery's fsyncs share group commits.
//
// Descriptors: with Config.OpenFilesMax (log.open.files.max) segment .log
// files go through a bounded descriptor cache (package fdcache) and are
// reopened on demand; empty indexes hold no descriptor either way
// (package index). docs/design/engine.md, "Many partitions".
//
// Durability (what is on stable storage when): see docs/durability.md.
// The group committer (package wio) batches every log's fsyncs.
//
// Background passes (schedule.go) visit only the logs that changed since
// the last checkpoint (active.go), the compacted logs, and for retention
// the logs whose next deadline passed; checkpoint files are rewritten only
// when an offset in them changed (issue 16).
//
// Concurrency: all methods are safe for concurrent use. The engine never
// imports replication or netserver.
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rillmq/rill/engine/dirlock"
	"github.com/rillmq/rill/engine/fdcache"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/index"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/engine/wio"
	"github.com/rillmq/rill/internal/kafka"
)

// ErrUnknownPartition is returned for partitions the engine does not hold.
var ErrUnknownPartition = errors.New("engine: unknown partition")

// ErrPartitionExists is returned by CreatePartition for an existing one.
var ErrPartitionExists = errors.New("engine: partition exists")

// Config configures an Engine.
type Config struct {
	DataDir string
	FS      vfs.FS // vfs.Default when nil
	// IOEngine is io_engine: auto, uring or pwrite.
	IOEngine string
	// Clock returns Unix milliseconds; time.Now when nil.
	Clock log.Clock
	// Log is the default for partitions opened without their own config.
	Log log.Config
	// Intervals of the background scheduler (ms); 0 disables one.
	RetentionCheckIntervalMs int64 // log.retention.check.interval.ms
	CheckpointIntervalMs     int64 // log.flush.offset.checkpoint.interval.ms
	CleanerBackoffMs         int64 // log.cleaner.backoff.ms
	FlushSchedulerIntervalMs int64 // log.flush.scheduler.interval.ms
	// LogConfigFor returns a partition's config at open; nil uses Log.
	LogConfigFor func(tp kafka.TopicPartition) log.Config
	// Logger receives background errors and notable events (nil
	// discards).
	Logger *slog.Logger
	// RecoveryLogger receives each partition log's recovery reports
	// (log.Options.Logger); nil uses Logger.
	RecoveryLogger *slog.Logger
	// OpenFilesMax caps the descriptors segment .log files hold open
	// (log.open.files.max, a Rill setting): idle ones are closed and
	// reopened on demand (package fdcache). 0 means no cap: every segment
	// keeps its descriptor, as Kafka does.
	OpenFilesMax int
	// IndexMapsMax caps how many offset and time index files are mapped
	// at once (log.index.mapped.max, a Rill setting): the least recently
	// used are unmapped and mapped again on demand (package index). 0
	// means half of the kernel's vm.max_map_count.
	IndexMapsMax int
	// Lock is the data directory's lock when the caller already holds it
	// (dirlock.Acquire on FS and DataDir): a process that keeps more in the
	// directory than the engine (the broker's catalog and controller log)
	// locks it before opening any of that. The engine checks it and leaves
	// it held at Close; the caller releases it. When nil, Open takes the
	// lock itself and Close releases it.
	Lock *dirlock.Lock
}

// DefaultConfig returns Kafka's defaults for dataDir.
func DefaultConfig(dataDir string) Config {
	return Config{
		DataDir: dataDir, IOEngine: "auto", Log: log.DefaultConfig(),
		RetentionCheckIntervalMs: 300000, CheckpointIntervalMs: 60000,
		CleanerBackoffMs: 15000, FlushSchedulerIntervalMs: 1000,
	}
}

// Engine owns the partition logs of one data directory.
type Engine struct {
	cfg       Config
	fs        vfs.FS
	clock     log.Clock
	io        wio.Engine
	committer *wio.GroupCommitter
	// wasClean reports whether the last shutdown was clean.
	wasClean bool
	// lock is the data-directory lock, held from before load until Close
	// (released there when ownsLock: Open took it).
	lock     *dirlock.Lock
	ownsLock bool

	mu struct {
		sync.RWMutex
		logs   map[kafka.TopicPartition]*log.Log
		closed bool
		// creating are the partitions CreatePartitions is making, not
		// yet in logs; making counts the calls making them (Close waits).
		creating map[kafka.TopicPartition]bool
		making   sync.WaitGroup
	}
	// ckptMu serializes checkpoint writes and guards ckpt, the offsets
	// the checkpoint files hold (stale: they may not).
	ckptMu sync.Mutex
	ckpt   struct {
		rps, lsos map[kafka.TopicPartition]int64
		stale     bool
	}
	// active is the set of logs the background passes visit (active.go).
	active struct {
		sync.Mutex
		logs      map[*log.Log]kafka.TopicPartition
		compacted map[*log.Log]kafka.TopicPartition
	}

	stop chan struct{}
	done chan struct{}
}

// Open locks the data directory (or checks Config.Lock), opens it,
// recovering logs when the last shutdown was not clean, and starts the
// scheduler. A directory another owner holds fails with an error matching
// dirlock.ErrInUse (an *dirlock.InUseError naming the holder's pid).
func Open(cfg Config) (*Engine, error) {
	if cfg.FS == nil {
		cfg.FS = vfs.Default
	}
	if cfg.Clock == nil {
		cfg.Clock = func() int64 { return time.Now().UnixMilli() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RecoveryLogger == nil {
		cfg.RecoveryLogger = cfg.Logger
	}
	lock, owns := cfg.Lock, cfg.Lock == nil
	if owns {
		var err error
		if lock, err = dirlock.Acquire(cfg.FS, cfg.DataDir); err != nil {
			return nil, err
		}
	} else if err := checkLock(lock, cfg.DataDir); err != nil {
		return nil, err
	}
	release := func() {
		if owns {
			lock.Close()
		}
	}
	ioe, err := wio.New(cfg.IOEngine)
	if err != nil {
		release()
		return nil, err
	}
	fs := index.WithCache(cfg.FS, index.NewCache(cfg.IndexMapsMax))
	if cfg.OpenFilesMax > 0 {
		fs = fdcache.New(fs, cfg.OpenFilesMax, isSegmentLog)
	}
	e := &Engine{cfg: cfg, fs: fs, clock: cfg.Clock, io: ioe, committer: wio.NewGroupCommitter(ioe),
		lock: lock, ownsLock: owns, stop: make(chan struct{}), done: make(chan struct{})}
	e.mu.logs = map[kafka.TopicPartition]*log.Log{}
	e.active.logs = map[*log.Log]kafka.TopicPartition{}
	e.active.compacted = map[*log.Log]kafka.TopicPartition{}
	if err := e.load(); err != nil {
		e.closeLogs(false)
		ioe.Close()
		release()
		return nil, err
	}
	go e.schedule()
	return e, nil
}

// isSegmentLog selects the files the descriptor cache covers: segment
// logs, the one descriptor an idle partition still holds (indexes hold
// none, package index). Transaction indexes keep theirs (known limit).
func isSegmentLog(name string) bool { return strings.HasSuffix(name, format.LogSuffix) }

// OpenFiles reports the descriptor cache's state; ok is false without a
// cap (Config.OpenFilesMax 0).
func (e *Engine) OpenFiles() (st fdcache.Stats, ok bool) {
	c, ok := e.fs.(*fdcache.FS)
	if !ok {
		return fdcache.Stats{}, false
	}
	return c.Stats(), true
}

// checkLock accepts a caller's lock only if it is held and on dataDir.
func checkLock(lock *dirlock.Lock, dataDir string) error {
	if lock.Dir() != filepath.Clean(dataDir) {
		return fmt.Errorf("engine: Config.Lock is on %s, not the data directory %s", lock.Dir(), dataDir)
	}
	if err := lock.Check(); err != nil {
		return fmt.Errorf("engine: Config.Lock: %w", err)
	}
	return nil
}

func (e *Engine) load() error {
	dir := e.cfg.DataDir
	if err := e.fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	marker := filepath.Join(dir, cleanShutdownFile)
	e.wasClean = vfs.Exists(e.fs, marker)
	if e.wasClean {
		// From here on a crash must trigger recovery again.
		if err := e.fs.Remove(marker); err != nil {
			return err
		}
		if err := e.fs.SyncDir(dir); err != nil {
			return err
		}
	}
	rps, err := readCheckpoint(e.fs, dir, recoveryPointFile)
	if err != nil {
		e.cfg.Logger.Warn("recovery point checkpoint unreadable: recovering every log from its start", "err", err)
		rps, e.wasClean = nil, false
	}
	lsos, err := readCheckpoint(e.fs, dir, logStartOffsetFile)
	if err != nil {
		return err
	}
	names, err := e.fs.ReadDir(dir)
	if err != nil {
		return err
	}
	var jobs []openJob
	for _, name := range names {
		if strings.HasSuffix(name, "-delete") {
			// A DeletePartition that a crash interrupted.
			if err := e.fs.RemoveAll(filepath.Join(dir, name)); err != nil {
				return err
			}
			continue
		}
		tp, ok := kafka.ParseDirName(name)
		if !ok {
			continue
		}
		jobs = append(jobs, openJob{tp: tp, cfg: e.configFor(tp)})
	}
	if err := e.openLogs(jobs, rps, lsos); err != nil {
		return err
	}
	e.initCheckpoints(rps, lsos)
	if !e.wasClean {
		// Recovery moved the recovery points; record them.
		return e.Checkpoint()
	}
	return nil
}

// openJob is a partition log load opens, with its config (read in the
// loading goroutine: Config.LogConfigFor need not be concurrency-safe).
type openJob struct {
	tp  kafka.TopicPartition
	cfg log.Config
}

// openWorkers is how many logs load opens at once. Opening a log is a
// handful of small metadata calls and, after a crash, one fdatasync: in
// parallel the group committer gathers those fsyncs into shared rounds
// instead of one round per log (issue 16: start-up with 100,000
// partitions; Kafka's num.recovery.threads.per.data.dir is the analogue).
const openWorkers = 8

// openLogs opens jobs' logs on openWorkers goroutines into e.mu.logs. On
// an error it stops taking new jobs and returns the first error; the logs
// opened stay in e.mu.logs for the caller to close.
func (e *Engine) openLogs(jobs []openJob, rps, lsos map[kafka.TopicPartition]int64) error {
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		failed   atomic.Bool
		errMu    sync.Mutex
		firstErr error
	)
	for range min(openWorkers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				// Here, not in the listing loop: 100,000 stats run in
				// parallel with the opens.
				if st, err := e.fs.Stat(filepath.Join(e.cfg.DataDir, j.tp.DirName())); err != nil || !st.IsDir() {
					continue
				}
				l, err := e.openLog(j.tp, j.cfg, !e.wasClean, rps[j.tp], lsos[j.tp])
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("engine: open %s: %w", j.tp, err)
					}
					errMu.Unlock()
					failed.Store(true)
					return
				}
				e.mu.Lock()
				e.mu.logs[j.tp] = l
				e.mu.Unlock()
				e.noteOpened(l, j.tp)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (e *Engine) configFor(tp kafka.TopicPartition) log.Config {
	if e.cfg.LogConfigFor != nil {
		return e.cfg.LogConfigFor(tp)
	}
	return e.cfg.Log
}

func (e *Engine) openLog(tp kafka.TopicPartition, cfg log.Config, recover bool, rp, lso int64) (*log.Log, error) {
	return log.Open(log.Options{
		FS: e.fs, Dir: filepath.Join(e.cfg.DataDir, tp.DirName()), Config: cfg, Clock: e.clock,
		Syncer: e.committer, NeedsRecovery: recover, RecoveryPoint: rp, LogStartOffset: lso,
		Logger:   e.cfg.RecoveryLogger,
		OnChange: func(l *log.Log) { e.markActive(l, tp) },
	})
}

// DataDir is the data directory.
func (e *Engine) DataDir() string { return e.cfg.DataDir }

// WasCleanShutdown reports whether the previous run closed cleanly.
func (e *Engine) WasCleanShutdown() bool { return e.wasClean }

// IOEngine names the write engine in use (uring or pwrite).
func (e *Engine) IOEngine() string { return e.io.Name() }

// Committer is the group committer, for stats.
func (e *Engine) Committer() *wio.GroupCommitter { return e.committer }

// CreatePartition creates an empty log for tp with cfg.
func (e *Engine) CreatePartition(tp kafka.TopicPartition, cfg log.Config) (*log.Log, error) {
	logs, errs := e.CreatePartitions([]kafka.TopicPartition{tp}, cfg)
	return logs[0], errs[0]
}

// CreatePartitions creates the partitions' logs with one config, in
// parallel (openWorkers), and makes their directories durable with one
// sync of the data directory: a topic's thousand partitions cost one
// directory sync, not a thousand (issue 16). The engine's lock is not
// held while the logs are made. Each partition gets its own log and
// error, at its index; ErrPartitionExists for one that exists or is being
// created.
func (e *Engine) CreatePartitions(tps []kafka.TopicPartition, cfg log.Config) ([]*log.Log, []error) {
	logs, errs := make([]*log.Log, len(tps)), make([]error, len(tps))
	e.mu.Lock()
	if e.mu.creating == nil {
		e.mu.creating = map[kafka.TopicPartition]bool{}
	}
	var todo []int
	for i, tp := range tps {
		switch _, exists := e.mu.logs[tp]; {
		case e.mu.closed:
			errs[i] = log.ErrClosed
		case exists || e.mu.creating[tp]:
			errs[i] = ErrPartitionExists
		default:
			e.mu.creating[tp] = true
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		e.mu.making.Add(1)
		defer e.mu.making.Done()
	}
	e.mu.Unlock()
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(openWorkers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				logs[i], errs[i] = e.openLog(tps[i], cfg, false, 0, 0)
			}
		}()
	}
	for _, i := range todo {
		work <- i
	}
	close(work)
	wg.Wait()
	var syncErr error
	if len(todo) > 0 {
		syncErr = e.fs.SyncDir(e.cfg.DataDir)
	}
	var discard []*log.Log
	e.mu.Lock()
	for _, i := range todo {
		delete(e.mu.creating, tps[i])
		if errs[i] == nil && (syncErr != nil || e.mu.closed) {
			discard = append(discard, logs[i])
			logs[i], errs[i] = nil, syncErr
			if errs[i] == nil {
				errs[i] = log.ErrClosed
			}
		}
		if errs[i] == nil {
			e.mu.logs[tps[i]] = logs[i]
			e.markActive(logs[i], tps[i]) // for the next checkpoint
		}
	}
	e.mu.Unlock()
	for _, l := range discard { // not under the lock: closing is disk work
		l.Close(false)
	}
	return logs, errs
}

// Partition returns tp's log.
func (e *Engine) Partition(tp kafka.TopicPartition) (*log.Log, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	l, ok := e.mu.logs[tp]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPartition, tp)
	}
	return l, nil
}

// Partitions lists the partitions, sorted.
func (e *Engine) Partitions() []kafka.TopicPartition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]kafka.TopicPartition, 0, len(e.mu.logs))
	for tp := range e.mu.logs {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// DeletePartition closes tp's log and removes its directory. The directory
// is renamed first (Kafka's "-delete" suffix) so a crash mid-removal does
// not resurrect a half-deleted log.
func (e *Engine) DeletePartition(tp kafka.TopicPartition) error {
	e.mu.Lock()
	l, ok := e.mu.logs[tp]
	delete(e.mu.logs, tp)
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPartition, tp)
	}
	e.forget(l)
	e.forgetCheckpoint(tp)
	cerr := l.Close(false)
	src := filepath.Join(e.cfg.DataDir, tp.DirName())
	dst := fmt.Sprintf("%s.%d-delete", src, e.clock())
	if err := e.fs.Rename(src, dst); err != nil {
		return errors.Join(cerr, err)
	}
	if err := e.fs.SyncDir(e.cfg.DataDir); err != nil {
		return errors.Join(cerr, err)
	}
	return errors.Join(cerr, e.fs.RemoveAll(dst))
}

func (e *Engine) logs() map[kafka.TopicPartition]*log.Log {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[kafka.TopicPartition]*log.Log, len(e.mu.logs))
	for tp, l := range e.mu.logs {
		out[tp] = l
	}
	return out
}

// Close stops the scheduler, flushes and closes every log, writes the
// checkpoints and, when all of that succeeded, the clean-shutdown marker;
// then releases the data-directory lock if Open took it.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return nil
	}
	e.mu.closed = true
	e.mu.Unlock()
	e.mu.making.Wait() // logs being created close themselves
	close(e.stop)
	<-e.done
	err := e.closeLogs(true)
	if err == nil {
		err = e.Checkpoint()
	}
	if err == nil {
		err = e.markClean()
	}
	err = errors.Join(err, e.io.Close())
	if e.ownsLock {
		err = errors.Join(err, e.lock.Close())
	}
	return err
}

// markClean writes the clean-shutdown marker, which tells the next Open to
// trust every log without recovery. It is the marker's only writer, Close
// its only caller (after every log closed cleanly and the checkpoints were
// written), and it refuses unless this engine's directory lock is still
// held: a process that does not own the directory cannot vouch for logs
// that another may be writing.
func (e *Engine) markClean() error {
	if err := e.lock.Check(); err != nil {
		return fmt.Errorf("engine: not writing the clean-shutdown marker: %w", err)
	}
	return vfs.WriteFileAtomic(e.fs, e.cfg.DataDir, filepath.Join(e.cfg.DataDir, cleanShutdownFile), nil)
}

// closeLogs closes every log on openWorkers goroutines: a clean close
// flushes each log and writes its leader epoch checkpoint when an append
// changed it (package log), fsyncs that one after another would serialize
// (issue 16: shutdown with 100,000 partitions).
func (e *Engine) closeLogs(clean bool) error {
	logs := e.logs()
	work := make(chan *log.Log)
	errs := make(chan error, openWorkers)
	for range min(openWorkers, len(logs)) {
		go func() {
			var err error
			for l := range work {
				err = errors.Join(err, l.Close(clean))
			}
			errs <- err
		}()
	}
	for _, l := range logs {
		work <- l
	}
	close(work)
	var err error
	for range min(openWorkers, len(logs)) {
		err = errors.Join(err, <-errs)
	}
	return err
}
