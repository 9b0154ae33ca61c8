// Package history records what clients did against a broker, every send
// with its acknowledgement and every record read, and checks it afterwards
// in the spirit of Jepsen's Kafka queue workload: lost acknowledged
// writes, duplicates, disagreeing reads of one offset, acknowledgements at
// offsets the log does not hold, writes reordered within a producer and
// partition, and reads going backwards within a consumer's pass.
//
// Recording is safe for concurrent use; Check runs once the run is over,
// after a final read of every partition from its start.
package history

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Send is one produce: Acked with the partition and offset the broker
// answered, or not acknowledged (an error or no answer).
type Send struct {
	Producer  int
	Seq       int // order of sending within the producer
	Value     string
	Acked     bool
	Partition int32
	Offset    int64
}

// Read is one record a consumer saw.
type Read struct {
	Consumer  int
	Partition int32
	Offset    int64
	Value     string
}

// History is a run's record.
type History struct {
	mu    sync.Mutex
	sends []Send
	reads []Read
}

// Sent records a send's outcome.
func (h *History) Sent(s Send) {
	h.mu.Lock()
	h.sends = append(h.sends, s)
	h.mu.Unlock()
}

// Saw records a read.
func (h *History) Saw(r Read) {
	h.mu.Lock()
	h.reads = append(h.reads, r)
	h.mu.Unlock()
}

// Report lists every anomaly found, each as a sentence.
type Report struct {
	Acked, Read int
	Anomalies   []string
}

// OK reports whether the history is clean.
func (r Report) OK() bool { return len(r.Anomalies) == 0 }

func (r Report) String() string {
	if r.OK() {
		return fmt.Sprintf("%d acknowledged sends, %d reads: no anomalies", r.Acked, r.Read)
	}
	const show = 20
	a := r.Anomalies
	more := ""
	if len(a) > show {
		a, more = a[:show], fmt.Sprintf("\n... and %d more", len(r.Anomalies)-show)
	}
	return fmt.Sprintf("%d acknowledged sends, %d reads, %d anomalies:\n%s%s", r.Acked, r.Read, len(r.Anomalies), strings.Join(a, "\n"), more)
}

type pos struct {
	partition int32
	offset    int64
}

// Check analyses the history.
func (h *History) Check() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	var rep Report
	add := func(format string, args ...any) { rep.Anomalies = append(rep.Anomalies, fmt.Sprintf(format, args...)) }
	rep.Read = len(h.reads)

	at := map[pos]string{}
	where := map[string]map[pos]bool{}
	for _, r := range h.reads {
		p := pos{r.Partition, r.Offset}
		if v, ok := at[p]; ok && v != r.Value {
			add("divergent: %d-%d read as %q and %q", r.Partition, r.Offset, v, r.Value)
			continue
		}
		at[p] = r.Value
		if where[r.Value] == nil {
			where[r.Value] = map[pos]bool{}
		}
		where[r.Value][p] = true
	}
	for v, ps := range where {
		if len(ps) > 1 {
			add("duplicate: %q stored at %d offsets", v, len(ps))
		}
	}

	type seqOff struct {
		seq    int
		offset int64
		value  string
	}
	chains := map[[2]int64][]seqOff{}
	for _, s := range h.sends {
		if !s.Acked {
			continue
		}
		rep.Acked++
		ps := where[s.Value]
		if len(ps) == 0 {
			add("lost: %q acknowledged at %d-%d was never read", s.Value, s.Partition, s.Offset)
			continue
		}
		if s.Offset >= 0 && !ps[pos{s.Partition, s.Offset}] {
			add("wrong offset: %q acknowledged at %d-%d is stored elsewhere", s.Value, s.Partition, s.Offset)
		}
		for p := range ps {
			k := [2]int64{int64(s.Producer), int64(p.partition)}
			chains[k] = append(chains[k], seqOff{s.Seq, p.offset, s.Value})
		}
	}
	for k, c := range chains {
		sort.Slice(c, func(i, j int) bool { return c[i].seq < c[j].seq })
		for i := 1; i < len(c); i++ {
			if c[i].offset <= c[i-1].offset {
				add("reordered: producer %d sent %q before %q but partition %d stores them at %d and %d",
					k[0], c[i-1].value, c[i].value, k[1], c[i-1].offset, c[i].offset)
			}
		}
	}

	last := map[[2]int64]int64{}
	for _, r := range h.reads {
		k := [2]int64{int64(r.Consumer), int64(r.Partition)}
		if prev, ok := last[k]; ok && r.Offset <= prev {
			add("nonmonotonic: consumer %d read %d-%d after %d", r.Consumer, r.Partition, r.Offset, prev)
		}
		last[k] = r.Offset
	}
	sort.Strings(rep.Anomalies)
	return rep
}
