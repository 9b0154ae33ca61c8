package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Payload is incompressible filler of size bytes for record values.
func Payload(size int) []byte {
	b := make([]byte, size)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}

// Pacer spaces events evenly at a rate per second; a nil Pacer does not
// wait.
type Pacer struct {
	start time.Time
	every time.Duration
}

// NewPacer paces to rate events per second from now; nil when rate <= 0.
func NewPacer(rate int) *Pacer {
	if rate <= 0 {
		return nil
	}
	return &Pacer{start: time.Now(), every: time.Second / time.Duration(rate)}
}

// Wait sleeps until event i is due; sleeps shorter than a millisecond are
// skipped and caught up by the next one, so pacing stays accurate.
func (p *Pacer) Wait(i int) {
	if p == nil {
		return
	}
	if d := time.Until(p.start.Add(time.Duration(i) * p.every)); d > time.Millisecond {
		time.Sleep(d)
	}
}

// produceRecords sends cfg.Records records from cfg.Producers clients,
// stamping each value's first 8 bytes with its send time (Unix ns), and
// calls onAck for each acknowledgement. Transactional producers commit
// every cfg.TxnRecords records or cfg.TxnMillis ms (and at the end); it
// returns how many transactions were committed.
func produceRecords(ctx context.Context, cfg Config, onAck func(sent time.Time, size int, err error)) (int64, error) {
	opts, err := cfg.producerOpts()
	if err != nil {
		return 0, err
	}
	base := Payload(cfg.RecordSize)
	var wg sync.WaitGroup
	var txns atomic.Int64
	errc := make(chan error, cfg.Producers)
	// Transactional ids unique to this run, so no run waits for an
	// earlier run's id to be fenced.
	runID := time.Now().UnixNano()
	for p := 0; p < cfg.Producers; p++ {
		n := cfg.Records / cfg.Producers
		if p < cfg.Records%cfg.Producers {
			n++
		}
		popts := slices.Clip(opts)
		if cfg.Transactional {
			popts = append(popts, kgo.TransactionalID(fmt.Sprintf("%s-bench-%d-%d", cfg.Topic, runID, p)))
		}
		cl, err := kgo.NewClient(popts...)
		if err != nil {
			return 0, err
		}
		defer cl.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := NewPacer(cfg.Rate / cfg.Producers)
			inTxn, inThis, txnStart := false, 0, time.Time{}
			commit := func() error {
				if err := cl.Flush(ctx); err != nil {
					return err
				}
				if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
					return fmt.Errorf("committing a transaction: %w", err)
				}
				txns.Add(1)
				inTxn = false
				return nil
			}
			for i := 0; i < n; i++ {
				pace.Wait(i)
				if cfg.Transactional && !inTxn {
					if err := cl.BeginTransaction(); err != nil {
						errc <- err
						return
					}
					inTxn, inThis, txnStart = true, 0, time.Now()
				}
				v := make([]byte, len(base))
				copy(v, base)
				sent := time.Now()
				binary.BigEndian.PutUint64(v, uint64(sent.UnixNano()))
				cl.Produce(ctx, &kgo.Record{Value: v}, func(r *kgo.Record, err error) { onAck(sent, len(r.Value), err) })
				inThis++
				if inTxn && (cfg.TxnRecords > 0 && inThis >= cfg.TxnRecords ||
					cfg.TxnMillis > 0 && sent.Sub(txnStart) >= time.Duration(cfg.TxnMillis)*time.Millisecond) {
					if err := commit(); err != nil {
						errc <- err
						return
					}
				}
			}
			if inTxn {
				if err := commit(); err != nil {
					errc <- err
				}
				return
			}
			if err := cl.Flush(ctx); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	return txns.Load(), <-errc
}

// Produce runs the produce workload; latency is send to acknowledgement.
func Produce(ctx context.Context, cfg Config, progress io.Writer) (Result, error) {
	res := Result{Workload: "produce", Config: cfg}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	if err := EnsureTopic(ctx, cfg); err != nil {
		return res, err
	}
	m := NewMeter("produce", progress)
	m.Warmup(time.Duration(cfg.WarmupSeconds) * time.Second)
	var once sync.Once
	var firstErr error
	txns, err := produceRecords(ctx, cfg, func(sent time.Time, size int, err error) {
		if err != nil {
			once.Do(func() { firstErr = err })
			return
		}
		m.Latency(time.Since(sent))
		m.Add(1, int64(size))
	})
	m.Finish(&res)
	res.Transactions = txns
	if err == nil {
		err = firstErr
	}
	return res, err
}
