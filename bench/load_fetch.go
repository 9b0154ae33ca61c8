package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// cursor reads one offset range [from, to) of a partition with one Fetch
// at a time.
type cursor struct {
	partition int32
	from, to  int64
	next      int64
	// stalls counts responses in a row that moved it no further.
	stalls int
}

func (c *cursor) done() bool { return c.next >= c.to }

// maxStalls bounds how often a cursor may get a response without a whole
// batch before the run fails (a broker returns at least one batch when
// there is one, whatever the byte limit, since Fetch v3).
const maxStalls = 10

// splitRanges cuts each partition's [start, end) into the cursors: cursor
// i reads partition i mod P, and the cursors of a partition take equal
// slices of it in turn.
func splitRanges(n int, starts, ends []int64) []*cursor {
	parts := len(starts)
	cursors := make([]*cursor, n)
	for i := range cursors {
		p := i % parts
		slices := (n - p + parts - 1) / parts // cursors on partition p
		k := int64(i / parts)
		span := ends[p] - starts[p]
		from := starts[p] + span*k/int64(slices)
		to := starts[p] + span*(k+1)/int64(slices)
		cursors[i] = &cursor{partition: int32(p), from: from, to: to, next: from}
	}
	return cursors
}

// advance counts the whole batches of a response for the cursor and moves
// it past them: a batch counts when its base offset lies in [from, to), so
// of two cursors that both receive a batch straddling their boundary only
// one counts it. It returns the records and bytes counted.
func (c *cursor) advance(batches []byte) (records, bytes int64, err error) {
	moved := false
	for len(batches) >= format.LogOverhead && !c.done() {
		size := int(int32(binary.BigEndian.Uint32(batches[8:]))) + format.LogOverhead
		if size < format.HeaderSize {
			return records, bytes, fmt.Errorf("bench: batch of %d bytes at offset %d", size, c.next)
		}
		if len(batches) < size {
			break // cut short by the byte limit: fetched again next time
		}
		b := format.Batch(batches[:size])
		if base := b.BaseOffset(); base >= c.from && base < c.to {
			records += int64(b.RecordCount())
			bytes += int64(size)
		}
		if next := b.NextOffset(); next > c.next {
			c.next, moved = next, true
		}
		batches = batches[size:]
	}
	if moved {
		c.stalls = 0
	} else if !c.done() {
		c.stalls++
		if c.stalls > maxStalls {
			return records, bytes, fmt.Errorf("bench: partition %d: no batch at offset %d after %d fetches", c.partition, c.next, maxStalls)
		}
	}
	return records, bytes, nil
}

func loadConsume(ctx context.Context, cfg LoadConfig, progress io.Writer, res LoadResult) (LoadResult, error) {
	addr, partitions, err := cfg.leader(ctx)
	if err != nil {
		return res, err
	}
	starts, ends, err := offsetBounds(ctx, cfg, partitions)
	if err != nil {
		return res, err
	}
	// At least one cursor per partition, or fewer connections×in-flight
	// than partitions would leave partitions unread.
	cursors := splitRanges(max(cfg.Connections*cfg.InFlight, int(partitions)), starts, ends)
	conns, err := dialAll(ctx, addr, cfg.Connections)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := closeOnDone(ctx, conns)
	defer stopWatch()
	fail := &firstError{cancel: cancel}

	cpu := startCPU(cfg.BrokerPID)
	m := NewMeter(res.Workload, progress)
	deadline := time.Now().Add(cfg.Duration)
	var wg sync.WaitGroup
	for c, rc := range conns {
		var mine []*cursor // round-robin, so connections share partitions alike
		for i := c; i < len(cursors); i += cfg.Connections {
			mine = append(mine, cursors[i])
		}
		ready := make(chan *cursor, len(mine))
		pending := make(chan *cursor, len(mine))
		open := 0
		for _, cur := range mine {
			if !cur.done() {
				ready <- cur
				open++
			}
		}
		if open == 0 {
			close(ready)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(pending)
			fail.set(fetchWriter(ctx, rc, cfg, ready, pending, deadline))
		}()
		go func() {
			defer wg.Done()
			fail.set(fetchReader(rc, ready, pending, open, m))
		}()
	}
	wg.Wait()
	m.Finish(&res.Result)
	if fail.err != nil {
		return res, fail.err
	}
	return res, cpu.finish(&res)
}

// offsetBounds lists each partition's log start offset and high watermark.
func offsetBounds(ctx context.Context, cfg LoadConfig, partitions int32) (starts, ends []int64, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Broker))
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	so, err := adm.ListStartOffsets(ctx, cfg.Topic)
	if err != nil {
		return nil, nil, err
	}
	eo, err := adm.ListEndOffsets(ctx, cfg.Topic)
	if err != nil {
		return nil, nil, err
	}
	starts, ends = make([]int64, partitions), make([]int64, partitions)
	for p := range partitions {
		s, ok1 := so.Lookup(cfg.Topic, p)
		e, ok2 := eo.Lookup(cfg.Topic, p)
		if !ok1 || !ok2 || s.Err != nil || e.Err != nil {
			return nil, nil, fmt.Errorf("bench: offsets of %s/%d: %v %v", cfg.Topic, p, s.Err, e.Err)
		}
		starts[p], ends[p] = s.Offset, e.Offset
	}
	return starts, ends, nil
}

// fetchWriter sends a Fetch for each cursor that comes back ready, until
// the cursors are all done (ready closed), the deadline or the end of ctx.
func fetchWriter(ctx context.Context, rc *rawConn, cfg LoadConfig, ready <-chan *cursor, pending chan<- *cursor, deadline time.Time) error {
	req := kmsg.NewFetchRequest()
	req.SetVersion(loadFetchVersion)
	req.ReplicaID = -1
	req.MaxWaitMillis = 100
	req.MinBytes = 1
	req.MaxBytes = cfg.FetchBytes
	req.SessionEpoch = -1 // no fetch session: every request names its partition
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = cfg.Topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = cfg.FetchBytes
	rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	var body []byte
	for {
		var cur *cursor
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-ready:
			if !ok {
				return nil
			}
			cur = c
		}
		if time.Now().After(deadline) {
			return nil
		}
		p := &req.Topics[0].Partitions[0]
		p.Partition, p.FetchOffset = cur.partition, cur.next
		body = req.AppendTo(body[:0])
		pending <- cur // room for each cursor: one fetch in flight each
		if _, err := rc.write(1, loadFetchVersion, body); err != nil {
			return writeErr(ctx, err)
		}
	}
}

// fetchReader reads each pending cursor's response, counts its batches and
// hands the cursor back to the writer, or, when the last of its open
// cursors is done, closes ready so the writer stops.
func fetchReader(rc *rawConn, ready chan<- *cursor, pending <-chan *cursor, open int, m *Meter) error {
	var corr int32
	for cur := range pending {
		resp := kmsg.NewPtrFetchResponse()
		if err := rc.readResponse(&corr, resp, loadFetchVersion, "fetch"); err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return fmt.Errorf("bench: fetch: %w", err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return errors.New("bench: fetch response without the one partition asked for")
		}
		p := resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			return fmt.Errorf("bench: fetch partition %d at %d: %w", cur.partition, cur.next, err)
		}
		records, bytes, err := cur.advance(p.RecordBatches)
		if err != nil {
			return err
		}
		m.Add(records, bytes)
		if !cur.done() {
			ready <- cur
			continue
		}
		if open--; open == 0 {
			close(ready)
		}
	}
	return nil
}
