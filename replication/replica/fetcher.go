package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/isr"
)

// fetchPosition is what a follower asks its leader for.
type fetchPosition struct {
	p *Partition
	// leaderEpoch is the epoch the follower believes the leader has; an
	// answer is applied only while it still does.
	leaderEpoch int32
	offset      int64
	lastEpoch   int32
	topicID     [16]byte
}

// position is the follower's fetch position, or false when it does not
// follow leader (any more).
func (p *Partition) position(leader int32) (fetchPosition, bool) {
	p.role.RLock()
	defer p.role.RUnlock()
	if p.lead != nil || p.state.Leader != leader {
		return fetchPosition{}, false
	}
	last := int32(-1)
	if es := p.log.LeaderEpochs(); len(es) > 0 {
		last = es[len(es)-1].Epoch
	}
	return fetchPosition{p: p, leaderEpoch: p.state.LeaderEpoch, offset: p.log.LogEndOffset(), lastEpoch: last, topicID: p.state.TopicID}, true
}

// runFetcher copies the partitions led by leader until there are none.
func (m *Manager) runFetcher(leader int32) {
	defer m.wg.Done()
	m.cfg.Logger.Info("fetcher started", "leader", leader)
	pause := time.Duration(0)
	var session followerSession
	for {
		if pause > 0 {
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(pause):
			}
		}
		if m.ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		addr := m.addrs[leader]
		var positions []fetchPosition
		for _, p := range m.parts {
			if pos, ok := p.position(leader); ok {
				positions = append(positions, pos)
			}
		}
		if len(positions) == 0 {
			delete(m.fetchers, leader)
			m.mu.Unlock()
			m.cfg.Logger.Info("fetcher stopped: no partitions to fetch", "leader", leader)
			return
		}
		m.mu.Unlock()
		if addr == "" {
			pause = 200 * time.Millisecond
			continue
		}
		progress, err := m.fetchOnce(addr, positions, &session)
		switch {
		case err != nil:
			pause = 200 * time.Millisecond
		case !progress:
			// Every partition answered an error (a leader that does not
			// know it leads yet): do not spin.
			pause = 50 * time.Millisecond
		default:
			pause = 0
		}
	}
}

// fetchOnce sends one Fetch for positions, in session (fetch_session.go),
// and applies the answer. It reports whether any partition got data or
// was truncated.
func (m *Manager) fetchOnce(addr string, positions []fetchPosition, session *followerSession) (bool, error) {
	req := session.request(addr, positions, m.cfg.FetchMaxBytes)
	req.ReplicaID = m.cfg.Self
	req.ReplicaState.ID = m.cfg.Self // v15+ (KIP-903)
	req.MaxWaitMillis = int32(m.cfg.FetchMaxWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = 10 << 20
	// A leader that does not answer within its long poll plus a few
	// seconds is taken for unreachable (a dead connection after a network
	// partition would otherwise hold the follower for kgo's 10 s request
	// overhead after the partition healed): the fetch fails, and is
	// retried on a fresh connection.
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.FetchMaxWait+fetchOverhead)
	defer cancel()
	resp, err := m.cfg.Fetch(ctx, addr, req)
	if err != nil {
		session.answered(nil)
		return false, err
	}
	session.answered(resp)
	if resp.ErrorCode != 0 {
		return false, kerr.ErrorForCode(resp.ErrorCode)
	}
	// An incremental answer carries only partitions that changed, so
	// partitions are found by topic id (v13+) or name, not request order.
	byTP := make(map[kafka.TopicPartition]fetchPosition, len(positions))
	names := map[[16]byte]string{}
	for _, pos := range positions {
		byTP[pos.p.tp] = pos
		names[pos.topicID] = pos.p.tp.Topic
	}
	progress := false
	for _, rt := range resp.Topics {
		name := rt.Topic
		if n, ok := names[rt.TopicID]; ok && rt.TopicID != ([16]byte{}) {
			name = n
		}
		for _, rp := range rt.Partitions {
			pos, ok := byTP[kafka.TopicPartition{Topic: name, Partition: rp.Partition}]
			if !ok {
				continue
			}
			moved, err := pos.p.applyFetched(pos, &rp)
			if err != nil && !transient(err) {
				m.cfg.Logger.Warn("applying fetched records failed", "partition", pos.p.tp.String(), "leader", addr, "err", err)
			}
			progress = progress || moved
		}
	}
	return progress, nil
}

// applyFetched appends what the leader sent, or truncates where it says
// the logs diverged. It reports whether the log changed.
func (p *Partition) applyFetched(pos fetchPosition, r *kmsg.FetchResponseTopicPartition) (bool, error) {
	p.role.RLock()
	defer p.role.RUnlock()
	if p.lead != nil || p.state.LeaderEpoch != pos.leaderEpoch {
		return false, nil // leadership moved while the fetch was out
	}
	leo := p.log.LogEndOffset()
	if leo != pos.offset {
		return false, nil // an answer to a position this log has left
	}
	if r.ErrorCode != 0 {
		err := kerr.ErrorForCode(r.ErrorCode)
		if errors.Is(err, kerr.OffsetOutOfRange) {
			return p.outOfRangeLocked(r)
		}
		return false, err
	}
	if d := r.DivergingEpoch; d.EndOffset >= 0 {
		p.mu.Lock()
		hw := p.hw
		p.mu.Unlock()
		cut := isr.Divergence(p.log.EndOffsetForEpoch, d.Epoch, d.EndOffset, leo, hw)
		if err := p.log.TruncateTo(cut); err != nil {
			return false, err
		}
		p.m.cfg.Logger.Info("truncated a log diverged from the leader", "partition", p.tp.String(),
			"epoch", d.Epoch, "leader_epoch_end", d.EndOffset, "from", leo, "to", p.log.LogEndOffset())
		p.mu.Lock()
		p.setFollowerHWLocked(min(p.hw, p.log.LogEndOffset()))
		p.mu.Unlock()
		return true, nil
	}
	moved := false
	data := r.RecordBatches
	for len(data) > 0 {
		b, err := format.Parse(data)
		if err != nil {
			break // the leader's answer may end inside a batch
		}
		data = data[len(b):]
		if b.NextOffset() <= p.log.LogEndOffset() {
			continue // the batch holding the fetch offset, already here
		}
		if _, err := p.log.Append(b, log.AppendOptions{}); err != nil {
			return moved, fmt.Errorf("append at %d: %w", b.BaseOffset(), err)
		}
		moved = true
	}
	p.mu.Lock()
	p.setFollowerHWLocked(max(min(r.HighWatermark, p.log.LogEndOffset()), 0))
	p.mu.Unlock()
	return moved, nil
}

// outOfRangeLocked handles a fetch offset the leader does not have: below
// its log start (retention moved on) the follower starts over there;
// past its end the follower keeps only what the leader has committed.
func (p *Partition) outOfRangeLocked(r *kmsg.FetchResponseTopicPartition) (bool, error) {
	leo := p.log.LogEndOffset()
	if r.LogStartOffset >= 0 && leo < r.LogStartOffset {
		if err := p.log.TruncateFullyAndStartAt(r.LogStartOffset); err != nil {
			return false, err
		}
		p.m.cfg.Logger.Warn("behind the leader's log start: starting over there", "partition", p.tp.String(), "log_start_offset", r.LogStartOffset)
		return true, nil
	}
	if r.HighWatermark >= 0 && r.HighWatermark < leo {
		if err := p.log.TruncateTo(r.HighWatermark); err != nil {
			return false, err
		}
		p.m.cfg.Logger.Info("truncated to the leader's high watermark", "partition", p.tp.String(), "from", leo, "to", r.HighWatermark)
		return true, nil
	}
	return false, kerr.OffsetOutOfRange
}

// fetchOverhead is how much longer than its long poll a follower waits
// for a leader's Fetch answer.
const fetchOverhead = 4 * time.Second

// kafkaFetch sends Fetch requests with one franz-go client per broker
// address.
type kafkaFetch struct {
	self    int32
	opts    []kgo.Opt // the inter-broker listener's security
	mu      sync.Mutex
	clients map[string]*kgo.Client
}

func newKafkaFetch(self int32, opts []kgo.Opt) *kafkaFetch {
	return &kafkaFetch{self: self, opts: opts, clients: map[string]*kgo.Client{}}
}

func (k *kafkaFetch) fetch(ctx context.Context, addr string, req *kmsg.FetchRequest) (*kmsg.FetchResponse, error) {
	k.mu.Lock()
	cl := k.clients[addr]
	if cl == nil {
		var err error
		cl, err = kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("rill-replica-%d", k.self)),
			kgo.DialTimeout(2 * time.Second), kgo.RequestTimeoutOverhead(fetchOverhead)}, k.opts...)...)
		if err != nil {
			k.mu.Unlock()
			return nil, err
		}
		k.clients[addr] = cl
	}
	k.mu.Unlock()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.FetchResponse), nil
}

func (k *kafkaFetch) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for addr, cl := range k.clients {
		cl.Close()
		delete(k.clients, addr)
	}
}

// transient are the errors of a leader that has not caught up with the
// metadata yet (or moved on): the next fetch sorts them out.
func transient(err error) bool {
	for _, e := range []error{kerr.NotLeaderForPartition, kerr.FencedLeaderEpoch, kerr.UnknownLeaderEpoch,
		kerr.UnknownTopicID, kerr.UnknownTopicOrPartition, kerr.LeaderNotAvailable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
