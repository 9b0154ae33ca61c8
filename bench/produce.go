package bench

import (
	"context"
	"encoding/binary"
	"io"
	"math/rand"
	"sync"
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
// calls onAck for each acknowledgement.
func produceRecords(ctx context.Context, cfg Config, onAck func(sent time.Time, size int, err error)) error {
	opts, err := cfg.producerOpts()
	if err != nil {
		return err
	}
	base := Payload(cfg.RecordSize)
	var wg sync.WaitGroup
	errc := make(chan error, cfg.Producers)
	for p := 0; p < cfg.Producers; p++ {
		n := cfg.Records / cfg.Producers
		if p < cfg.Records%cfg.Producers {
			n++
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return err
		}
		defer cl.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := NewPacer(cfg.Rate / cfg.Producers)
			for i := 0; i < n; i++ {
				pace.Wait(i)
				v := make([]byte, len(base))
				copy(v, base)
				sent := time.Now()
				binary.BigEndian.PutUint64(v, uint64(sent.UnixNano()))
				cl.Produce(ctx, &kgo.Record{Value: v}, func(r *kgo.Record, err error) { onAck(sent, len(r.Value), err) })
			}
			if err := cl.Flush(ctx); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
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
	err := produceRecords(ctx, cfg, func(sent time.Time, size int, err error) {
		if err != nil {
			once.Do(func() { firstErr = err })
			return
		}
		m.Latency(time.Since(sent))
		m.Add(1, int64(size))
	})
	m.Finish(&res)
	if err == nil {
		err = firstErr
	}
	return res, err
}
