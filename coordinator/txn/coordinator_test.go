package txn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

// flakyMarkers is a MarkerWriter that fails its first fails writes (of
// the partition failOnly, when set, else of all) and records the rest.
type flakyMarkers struct {
	mu       sync.Mutex
	fails    int
	failOnly *kafka.TopicPartition
	written  []Markers
	epochs   []int32
	wrote    chan struct{}
}

func (w *flakyMarkers) WriteMarkers(_ context.Context, mk Markers, coordinatorEpoch int32) ([]kafka.TopicPartition, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fails > 0 {
		w.fails--
		if w.failOnly == nil {
			return mk.Partitions, errors.New("leader not available")
		}
		var ok []kafka.TopicPartition
		for _, tp := range mk.Partitions {
			if tp != *w.failOnly {
				ok = append(ok, tp)
			}
		}
		w.written = append(w.written, Markers{TransactionalID: mk.TransactionalID, ProducerID: mk.ProducerID, ProducerEpoch: mk.ProducerEpoch, Commit: mk.Commit, Partitions: ok})
		return []kafka.TopicPartition{*w.failOnly}, errors.New("leader not available")
	}
	w.written = append(w.written, mk)
	w.epochs = append(w.epochs, coordinatorEpoch)
	if w.wrote != nil {
		select {
		case w.wrote <- struct{}{}:
		default:
		}
	}
	return nil, nil
}

func newTestCoordinator(t *testing.T, w MarkerWriter) (*Coordinator, *memLog) {
	t.Helper()
	log := &memLog{recs: map[int32][]shard.Record{}}
	cfg := DefaultConfig()
	cfg.StatePartitions = 3
	c := NewCoordinator(CoordinatorConfig{
		Config:           cfg,
		Log:              log,
		IDs:              &counter{},
		Markers:          w,
		OffsetsPartition: func(group string) int32 { return kafka.PartitionFor(group, 5) },
		CoordinatorEpoch: func(p int32) int32 { return 7 },
	})
	for p := range int32(3) {
		if err := <-c.LoadPartition(p); err != nil {
			t.Fatal(err)
		}
	}
	return c, log
}

// waitState polls the coordinator until id is in state.
func waitState(t *testing.T, c *Coordinator, id string, state State) *Metadata {
	t.Helper()
	// Generous: under the race detector on a loaded machine a completion
	// retried behind others' failed batches (backoff up to 1 s) took over
	// 5 s once.
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err := c.Describe(id)
		if err == nil && m != nil && m.State == state {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v %v, want %s", id, m, err, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A commit through the Coordinator: its markers are written (retried past
// failures, with the partition's coordinator epoch), then the transaction
// completes; AddOffsets adds the group's offsets partition.
func TestCoordinatorCommitSendsMarkers(t *testing.T) {
	w := &flakyMarkers{fails: 2, wrote: make(chan struct{}, 1)}
	c, _ := newTestCoordinator(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, 10*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	a := c.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute})
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	if r := c.AddPartitions(AddPartitions{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch,
		Partitions: []kafka.TopicPartition{tp("out", 1)}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := c.AddOffsets("t", a.ProducerID, a.ProducerEpoch, "g"); r.Err != nil {
		t.Fatal(r.Err)
	}
	if per, err := c.VerifyPartitions("t", a.ProducerID, a.ProducerEpoch, []kafka.TopicPartition{tp("out", 1), tp("out", 2)}); err != nil ||
		per[tp("out", 1)] != nil || !errors.Is(per[tp("out", 2)], ErrTransactionAbortable) {
		t.Fatalf("verify: %v %v", per, err)
	}
	if r := c.EndTxn(EndTxn{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Commit: true}); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitState(t, c, "t", CompleteCommit)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.written) != 1 || !w.written[0].Commit || len(w.written[0].Partitions) != 2 || w.epochs[0] != 7 {
		t.Fatalf("markers written %+v epochs %v", w.written, w.epochs)
	}
	offsets := tp(OffsetsTopic, kafka.PartitionFor("g", 5))
	if w.written[0].Partitions[0] != offsets && w.written[0].Partitions[1] != offsets {
		t.Fatalf("markers %v lack the group's offsets partition %v", w.written[0].Partitions, offsets)
	}
	if w.fails != 0 {
		t.Fatalf("the failed writes were not retried (%d left)", w.fails)
	}
}

// Markers owed when the coordinator stops leading are not completed by
// it: the next leader of the partition loads the PrepareCommit and sends
// them.
func TestCoordinatorMovesWithMarkersOwed(t *testing.T) {
	stuck := &flakyMarkers{fails: 1 << 30}
	c, log := newTestCoordinator(t, stuck)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, 10*time.Millisecond) }()
	a := c.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute})
	c.AddPartitions(AddPartitions{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Partitions: []kafka.TopicPartition{tp("out", 0)}})
	if r := c.EndTxn(EndTxn{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Commit: false}); r.Err != nil {
		t.Fatal(r.Err)
	}
	time.Sleep(50 * time.Millisecond)
	c.UnloadPartition(c.PartitionOf("t"))
	if r := c.EndTxn(EndTxn{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch}); !errors.Is(r.Err, shard.ErrNotCoordinator) {
		t.Fatalf("request after unload: %v, want not coordinator", r.Err)
	}
	cancel()
	<-done

	// The next coordinator, over the same log.
	w := &flakyMarkers{wrote: make(chan struct{}, 1)}
	next := NewCoordinator(CoordinatorConfig{Config: c.cfg.Config, Log: log, IDs: &counter{}, Markers: w,
		OffsetsPartition: c.cfg.OffsetsPartition, CoordinatorEpoch: func(int32) int32 { return 8 }})
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go next.Run(ctx, 10*time.Millisecond)
	if err := <-next.LoadPartition(next.PartitionOf("t")); err != nil {
		t.Fatal(err)
	}
	waitState(t, next, "t", CompleteAbort)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.written) != 1 || w.written[0].Commit || w.epochs[0] != 8 {
		t.Fatalf("next coordinator wrote %+v with epochs %v", w.written, w.epochs)
	}
}

// A partition whose marker fails is retried alone: the others are written
// once, not again with it.
func TestCoordinatorRetriesOnlyFailedPartitions(t *testing.T) {
	bad := tp("out", 2)
	w := &flakyMarkers{fails: 3, failOnly: &bad}
	c, _ := newTestCoordinator(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, 10*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	a := c.InitProducerID(InitProducerID{TransactionalID: "t", Timeout: time.Minute})
	c.AddPartitions(AddPartitions{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch,
		Partitions: []kafka.TopicPartition{tp("out", 0), tp("out", 1), bad}})
	if r := c.EndTxn(EndTxn{TransactionalID: "t", ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Commit: true}); r.Err != nil {
		t.Fatal(r.Err)
	}
	waitState(t, c, "t", CompleteCommit)
	w.mu.Lock()
	defer w.mu.Unlock()
	count := map[kafka.TopicPartition]int{}
	for _, mk := range w.written {
		for _, p := range mk.Partitions {
			count[p]++
		}
	}
	if count[tp("out", 0)] != 1 || count[tp("out", 1)] != 1 || count[bad] != 1 {
		t.Fatalf("markers written per partition %v, want each once", count)
	}
}

// failingComplete is a log whose first append of each transactional id's
// CompleteCommit record fails.
type failingComplete struct {
	memLog
	failed map[string]bool
}

func (l *failingComplete) Append(p int32, recs []shard.Record) error {
	for _, r := range recs {
		if id, m, err := Decode(r); err == nil && m != nil && m.State == CompleteCommit {
			l.mu.Lock()
			first := !l.failed[id]
			l.failed[id] = true
			l.mu.Unlock()
			if first {
				return errors.New("not enough replicas")
			}
		}
	}
	return l.memLog.Append(p, recs)
}

// A completion whose write fails is retried by its sender: no transaction
// is left preparing (before, the retry went back to the outbox while the
// send still counted as running, and a drain in between dropped it).
func TestCoordinatorRetriesFailedCompletion(t *testing.T) {
	log := &failingComplete{memLog: memLog{recs: map[int32][]shard.Record{}}, failed: map[string]bool{}}
	cfg := DefaultConfig()
	cfg.StatePartitions = 3
	c := NewCoordinator(CoordinatorConfig{Config: cfg, Log: log, IDs: &counter{}, Markers: &flakyMarkers{},
		OffsetsPartition: func(string) int32 { return 0 }, CoordinatorEpoch: func(int32) int32 { return 1 }})
	for p := range int32(3) {
		if err := <-c.LoadPartition(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, 5*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failed append fails every write batched with it: the
			// client retries, as it would on COORDINATOR_NOT_AVAILABLE.
			id := fmt.Sprintf("t%d", i)
			retry := func(f func() Answer) Answer {
				for {
					if a := f(); a.Err == nil || errors.Is(a.Err, ErrInvalidTxnState) {
						return a
					}
				}
			}
			a := retry(func() Answer { return c.InitProducerID(InitProducerID{TransactionalID: id, Timeout: time.Minute}) })
			retry(func() Answer {
				return c.AddPartitions(AddPartitions{TransactionalID: id, ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Partitions: []kafka.TopicPartition{tp("out", 0)}})
			})
			retry(func() Answer {
				return c.EndTxn(EndTxn{TransactionalID: id, ProducerID: a.ProducerID, ProducerEpoch: a.ProducerEpoch, Commit: true})
			})
		}()
	}
	wg.Wait()
	for i := range 60 {
		waitState(t, c, fmt.Sprintf("t%d", i), CompleteCommit)
	}
}
