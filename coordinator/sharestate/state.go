package sharestate

import (
	"container/heap"
	"math"
	"slices"
)

// Batch is a run of offsets in one delivery state: Kafka's ids 0
// Available, 2 Acknowledged, 4 Archived (a leader persists Acquired
// records as Available), and the number of times they were delivered.
type Batch struct {
	First, Last   int64
	State         int8
	DeliveryCount int16
}

// State is what the coordinator keeps of a share partition and Read
// answers (its LeaderEpoch: the one recorded once the read is done; the
// wire's ReadShareGroupState carries none).
type State struct {
	StateEpoch, LeaderEpoch int32
	StartOffset             int64
	Batches                 []Batch
}

// Summary is ReadShareGroupStateSummary's answer for one share partition.
type Summary struct {
	StateEpoch, LeaderEpoch int32
	StartOffset             int64
	// DeliveryCompleteCount is KIP-1226's count of offsets at or above
	// the start offset whose delivery completed, -1 when unknown.
	DeliveryCompleteCount int32
}

// Uninitialized is the Summary of a key never initialized, as Kafka's
// PartitionFactory defaults answer it.
var Uninitialized = Summary{StateEpoch: 0, LeaderEpoch: 0, StartOffset: -1, DeliveryCompleteCount: -1}

// entry is one key's stored state and Kafka's fencing epochs.
type entry struct {
	State
	DeliveryCompleteCount int32
	// MaxLeaderEpoch and MaxStateEpoch are the highest epochs seen for the
	// key since it was created (Kafka's leaderEpochMap, stateEpochMap).
	MaxLeaderEpoch, MaxStateEpoch int32
}

func (e *entry) clone() *entry {
	c := *e
	c.Batches = slices.Clone(e.Batches)
	return &c
}

// outranks orders delivery information as Kafka's combiner does: the
// higher delivery count wins, then the higher state.
func outranks(a, b Batch) bool {
	if a.DeliveryCount != b.DeliveryCount {
		return a.DeliveryCount > b.DeliveryCount
	}
	return a.State > b.State
}

func sameInfo(a, b Batch) bool { return a.State == b.State && a.DeliveryCount == b.DeliveryCount }

// Merge combines stored batches with new ones as Kafka's
// PersisterStateBatchCombiner does (see the package doc): batches wholly
// below startOffset drop, one straddling it is cut at it (startOffset -1
// drops nothing); each offset takes the highest-ranking batch covering it;
// runs of equal state and count coalesce. The result is sorted and
// non-overlapping. Batches with Last < First are ignored.
func Merge(stored, added []Batch, startOffset int64) []Batch {
	var in []Batch
	for _, b := range append(slices.Clip(stored), added...) {
		if b.Last < b.First {
			continue
		}
		if startOffset >= 0 {
			if b.Last < startOffset {
				continue
			}
			b.First = max(b.First, startOffset)
		}
		in = append(in, b)
	}
	if len(in) == 0 {
		return nil
	}
	slices.SortStableFunc(in, func(a, b Batch) int {
		switch {
		case a.First < b.First:
			return -1
		case a.First > b.First:
			return 1
		}
		return 0
	})
	// Sweep the offsets from the lowest: active holds the batches that
	// started, the best ranking on top; batches that ended are dropped
	// when they surface.
	var out []Batch
	emit := func(b Batch) {
		if n := len(out); n > 0 && out[n-1].Last+1 == b.First && sameInfo(out[n-1], b) {
			out[n-1].Last = b.Last
			return
		}
		out = append(out, b)
	}
	active := &batchHeap{}
	next := 0
	pos := in[0].First
	for next < len(in) || active.Len() > 0 {
		for active.Len() > 0 && (*active)[0].Last < pos {
			heap.Pop(active)
		}
		if active.Len() == 0 {
			if next == len(in) {
				break
			}
			pos = max(pos, in[next].First)
		}
		for next < len(in) && in[next].First <= pos {
			heap.Push(active, in[next])
			next++
		}
		for active.Len() > 0 && (*active)[0].Last < pos {
			heap.Pop(active)
		}
		if active.Len() == 0 {
			continue
		}
		top := (*active)[0]
		// The top holds until it ends or a batch that outranks it starts.
		end := top.Last
		for i := next; i < len(in) && in[i].First <= end; i++ {
			if outranks(in[i], top) {
				end = in[i].First - 1
				break
			}
		}
		emit(Batch{First: pos, Last: end, State: top.State, DeliveryCount: top.DeliveryCount})
		if end == math.MaxInt64 {
			break
		}
		pos = end + 1
	}
	return out
}

// batchHeap is a max-heap by rank (outranks).
type batchHeap []Batch

func (h batchHeap) Len() int           { return len(h) }
func (h batchHeap) Less(i, j int) bool { return outranks(h[i], h[j]) }
func (h batchHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *batchHeap) Push(x any)        { *h = append(*h, x.(Batch)) }
func (h *batchHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	*h = old[:len(old)-1]
	return b
}
