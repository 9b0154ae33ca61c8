package replica

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// Config configures a broker's replicas.
type Config struct {
	// Self is this broker's id.
	Self int32
	// LagTimeMax is replica.lag.time.max.ms (30 s): a follower not caught
	// up for this long leaves the ISR.
	LagTimeMax time.Duration
	// FetchMaxWait is replica.fetch.wait.max.ms (500 ms).
	FetchMaxWait time.Duration
	// FetchMaxBytes is replica.fetch.max.bytes (1 MiB), per partition.
	FetchMaxBytes int32
	// Log finds a partition's local log; an error means it does not exist
	// yet (the manager tries again at the next Sync).
	Log func(kafka.TopicPartition) (*log.Log, error)
	// AlterPartition asks the active controller for an ISR change of the
	// partition (topicID: the topic it belongs to). An error that wraps
	// ErrISRChangeRefused is the controller's refusal; any other, no
	// answer.
	AlterPartition func(ctx context.Context, tp kafka.TopicPartition, topicID [16]byte, leader, leaderEpoch, partitionEpoch int32, isr []int32) error
	// Fetch sends a follower's Fetch to a broker (addr from Sync); nil
	// means a franz-go client per broker (KafkaFetch), with ClientOpts
	// (the inter-broker listener's TLS and SASL).
	Fetch      FetchFunc
	ClientOpts []kgo.Opt
	// Advanced is called when a leader's high watermark moves, so waiting
	// consumer fetches look again.
	Advanced func(tp kafka.TopicPartition)
	// Leadership is called (from Sync, in order) when this broker starts
	// or stops leading a partition, after the replica acts on it.
	Leadership func(tp kafka.TopicPartition, leading bool)
	// HighWatermarks are the checkpointed high watermarks a replica starts
	// from (capped at its log end); SaveHighWatermarks writes them every
	// HighWatermarkInterval (replica.high.watermark.checkpoint.interval.ms,
	// 5 s) and at Close. Nil: not kept.
	HighWatermarks        map[kafka.TopicPartition]int64
	SaveHighWatermarks    func(map[kafka.TopicPartition]int64) error
	HighWatermarkInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger reports leadership, fetcher and ISR changes (nil discards).
	Logger *slog.Logger
}

// FetchFunc sends a Fetch request to the broker at addr.
type FetchFunc func(ctx context.Context, addr string, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error)

// Manager is the set of this broker's replicas.
type Manager struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	parts    map[kafka.TopicPartition]*Partition
	addrs    map[int32]string
	fetchers map[int32]bool // leader brokers with a running fetcher
	// closeFetch closes the default Fetch's clients.
	closeFetch func()

	// clock holds the leaders the clock ticks: those time can change
	// (Partition.watchLocked). Idle partitions are not visited.
	clock tickSet
	// hwMoved counts high watermark moves and replica set changes; the
	// checkpoint is written only when it moved since the last one.
	hwMoved atomic.Uint64
	savedAt uint64
	saved   bool
}

// tickSet is a set of partitions under its own lock, taken while a
// partition's mu is held (lock order: Partition.mu, then tickSet.mu).
type tickSet struct {
	mu    sync.Mutex
	parts map[*Partition]struct{}
}

func (s *tickSet) add(p *Partition) {
	s.mu.Lock()
	if s.parts == nil {
		s.parts = map[*Partition]struct{}{}
	}
	s.parts[p] = struct{}{}
	s.mu.Unlock()
}

func (s *tickSet) remove(p *Partition) {
	s.mu.Lock()
	delete(s.parts, p)
	s.mu.Unlock()
}

func (s *tickSet) list() []*Partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Partition, 0, len(s.parts))
	for p := range s.parts {
		out = append(out, p)
	}
	return out
}

// NewManager starts the manager's clock; Close stops it and the fetchers.
func NewManager(cfg Config) *Manager {
	if cfg.LagTimeMax <= 0 {
		cfg.LagTimeMax = 30 * time.Second
	}
	if cfg.FetchMaxWait <= 0 {
		cfg.FetchMaxWait = 500 * time.Millisecond
	}
	if cfg.FetchMaxBytes <= 0 {
		cfg.FetchMaxBytes = 1 << 20
	}
	if cfg.Advanced == nil {
		cfg.Advanced = func(kafka.TopicPartition) {}
	}
	if cfg.Leadership == nil {
		cfg.Leadership = func(kafka.TopicPartition, bool) {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HighWatermarkInterval <= 0 {
		cfg.HighWatermarkInterval = 5 * time.Second
	}
	m := &Manager{cfg: cfg, parts: map[kafka.TopicPartition]*Partition{}, addrs: map[int32]string{}, fetchers: map[int32]bool{}}
	m.closeFetch = func() {}
	if m.cfg.Fetch == nil {
		kf := newKafkaFetch(cfg.Self, cfg.ClientOpts)
		m.cfg.Fetch, m.closeFetch = kf.fetch, kf.close
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(1)
	go m.run()
	return m
}

func (m *Manager) now() time.Time {
	if m.cfg.Now != nil {
		return m.cfg.Now()
	}
	return time.Now()
}

// Close stops the fetchers and the clock; acks=all waits fail.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
	m.closeFetch()
	m.saveHighWatermarks()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.parts {
		p.role.Lock()
		p.mu.Lock()
		p.failWaitsLocked(ErrNotLeader)
		p.lead = nil
		p.mu.Unlock()
		p.role.Unlock()
	}
}

// Partition is the local replica of a partition, or nil.
func (m *Manager) Partition(topic string, partition int32) *Partition {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.parts[kafka.TopicPartition{Topic: topic, Partition: partition}]
}

// Sync acts on the published state of every partition with a replica
// here, and the brokers' addresses. A partition missing from states stops
// being led or followed here.
func (m *Manager) Sync(states map[kafka.TopicPartition]State, addrs map[int32]string) {
	now := m.now()
	m.mu.Lock()
	m.addrs = addrs
	var changed []func()
	for tp, s := range states {
		p := m.parts[tp]
		if p != nil && p.peekState().TopicID != s.TopicID {
			// The topic was deleted and created again: a new log.
			old := p
			changed = append(changed, func() { m.apply(old, State{Leader: -1}, now) })
			delete(m.parts, tp)
			m.hwMoved.Add(1)
			p = nil
		}
		if p == nil {
			l, err := m.cfg.Log(tp)
			if err != nil {
				continue // not created here yet
			}
			p = newPartition(m, tp, l)
			p.hw = min(m.cfg.HighWatermarks[tp], l.LogEndOffset())
			m.parts[tp] = p
			m.hwMoved.Add(1)
		}
		if !sameState(p.peekState(), s) {
			changed = append(changed, func() { m.apply(p, s, now) })
		}
	}
	for tp, p := range m.parts {
		if _, ok := states[tp]; !ok {
			delete(m.parts, tp)
			m.hwMoved.Add(1)
			changed = append(changed, func() { m.apply(p, State{Leader: -1}, now) })
		}
	}
	m.mu.Unlock()
	for _, f := range changed {
		f()
	}
	m.startFetchers()
}

// apply applies a partition's state and reports a leadership change.
func (m *Manager) apply(p *Partition, s State, now time.Time) {
	switch p.apply(s, now) {
	case becameLeader:
		m.cfg.Leadership(p.tp, true)
	case stoppedLeading:
		m.cfg.Leadership(p.tp, false)
	}
}

func (p *Partition) peekState() State {
	p.role.RLock()
	defer p.role.RUnlock()
	return p.state
}

func sameState(a, b State) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.PartitionEpoch == b.PartitionEpoch &&
		slices.Equal(a.ISR, b.ISR) && slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.Fenced, b.Fenced)
}

// startFetchers starts a fetcher for every leader broker this broker
// follows a partition of and has none; a fetcher stops itself when it
// finds nothing to fetch.
func (m *Manager) startFetchers() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.parts {
		s := p.peekState()
		if s.Leader < 0 || s.Leader == m.cfg.Self || m.fetchers[s.Leader] {
			continue
		}
		m.fetchers[s.Leader] = true
		m.wg.Add(1)
		go m.runFetcher(s.Leader)
	}
}

// run is the leaders' clock: acks=all timeouts, ISR shrinking, and the
// ISR changes sent to the controller.
func (m *Manager) run() {
	defer m.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	lastSave := m.now()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		now := m.now()
		if now.Sub(lastSave) >= m.cfg.HighWatermarkInterval {
			m.saveHighWatermarks()
			lastSave = now
		}
		for _, p := range m.clock.list() {
			ch, epoch := p.tick(now)
			if ch == nil {
				continue
			}
			isr := make([]int32, len(ch.ISR))
			for i, r := range ch.ISR {
				isr[i] = int32(r)
			}
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
				defer cancel()
				err := m.cfg.AlterPartition(ctx, p.tp, p.peekState().TopicID, m.cfg.Self, epoch, ch.PartitionEpoch, isr)
				countISRChange(ch, err)
				if err != nil {
					m.cfg.Logger.Warn("ISR change failed", "partition", p.tp.String(), "isr", isr, "err", err)
				}
				p.altered(err, epoch, m.now())
			}()
		}
	}
}

// saveHighWatermarks checkpoints every replica's high watermark, when one
// moved (or a replica came or went) since the last checkpoint. Only the
// clock goroutine and Close (after it stopped) call it.
func (m *Manager) saveHighWatermarks() {
	if m.cfg.SaveHighWatermarks == nil {
		return
	}
	moved := m.hwMoved.Load()
	if m.saved && moved == m.savedAt {
		return
	}
	m.mu.Lock()
	hws := make(map[kafka.TopicPartition]int64, len(m.parts))
	for tp, p := range m.parts {
		hws[tp] = p.highWatermark()
	}
	m.mu.Unlock()
	if err := m.cfg.SaveHighWatermarks(hws); err != nil {
		m.cfg.Logger.Error("checkpointing high watermarks failed", "err", err)
		return
	}
	m.saved, m.savedAt = true, moved
}
