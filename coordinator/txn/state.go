package txn

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rillmq/rill/internal/kafka"
)

// State is a transaction's state, numbered as Kafka writes it in
// TransactionLogValue.TransactionStatus (kafka TransactionState.fromId).
type State int8

const (
	Empty             State = 0
	Ongoing           State = 1
	PrepareCommit     State = 2
	PrepareAbort      State = 3
	CompleteCommit    State = 4
	CompleteAbort     State = 5
	Dead              State = 6
	PrepareEpochFence State = 7
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

// String is the state's name as DescribeTransactions and ListTransactions
// report it.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// ParseState is the inverse of String (ListTransactions state filters).
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// validPrevious is Kafka's TransactionState.validPreviousStates: a
// transition to the key is legal only from one of its states.
var validPrevious = map[State][]State{
	Empty:             {Empty, CompleteCommit, CompleteAbort},
	Ongoing:           {Ongoing, Empty, CompleteCommit, CompleteAbort},
	PrepareCommit:     {Ongoing},
	PrepareAbort:      {Ongoing, PrepareEpochFence},
	CompleteCommit:    {PrepareCommit},
	CompleteAbort:     {PrepareAbort},
	Dead:              {Empty, CompleteAbort, CompleteCommit},
	PrepareEpochFence: {Ongoing},
}

// ValidTransition reports whether Kafka allows from -> to.
func ValidTransition(from, to State) bool {
	for _, s := range validPrevious[to] {
		if s == from {
			return true
		}
	}
	return false
}

// expirable is Kafka's isExpirationAllowed: a transactional id idle in one
// of these states for transactional.id.expiration.ms is removed.
func (s State) expirable() bool {
	return s == Empty || s == CompleteCommit || s == CompleteAbort
}

// preparing reports PrepareCommit or PrepareAbort: markers are owed.
func (s State) preparing() bool { return s == PrepareCommit || s == PrepareAbort }

// Version is the client's transaction version (KIP-890 feature
// transaction.version): TV0/TV1 end a transaction at the epoch it ran
// with; TV2 bumps the epoch on every EndTxn (EndTxn v5+, with partitions
// added implicitly by Produce v12).
type Version int16

const (
	TV0 Version = 0
	TV1 Version = 1
	TV2 Version = 2
)

// bumpsEpochOnEnd is Kafka's TransactionVersion.supportsEpochBump.
func (v Version) bumpsEpochOnEnd() bool { return v >= TV2 }

const (
	// NoProducerID and NoProducerEpoch are Kafka's RecordBatch.NO_PRODUCER_ID
	// and NO_PRODUCER_EPOCH.
	NoProducerID    int64 = -1
	NoProducerEpoch int16 = -1
)

// epochExhausted is Kafka's TransactionMetadata.isEpochExhausted: a client
// never gets Short.MAX_VALUE, so the coordinator can always fence it.
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// Metadata is one transactional id's state (Kafka's TransactionMetadata).
// A Metadata held by a Partition changes only through Apply, once the log
// acknowledged the write of the change.
type Metadata struct {
	TransactionalID string
	// ProducerID and ProducerEpoch are the producer's current identity.
	ProducerID    int64
	ProducerEpoch int16
	// PreviousProducerID is the producer id before the last rotation (or
	// the current one; -1 for a new id), NextProducerID the id a TV2 end
	// with an exhausted epoch moves to at Complete (-1: none).
	PreviousProducerID, NextProducerID int64
	// LastProducerEpoch is the epoch before the last bump (-1 after a
	// fence or a plain InitProducerId): a retried InitProducerId or EndTxn
	// with it is answered without another bump. Kafka does not write it to
	// the log (TransactionLogValue has no field for it before KIP-939), so
	// a replayed id has -1.
	LastProducerEpoch int16
	// Timeout is transaction.timeout.ms as the producer gave it.
	Timeout time.Duration
	State   State
	// Partitions is the transaction's partitions, sorted, no duplicates.
	Partitions []kafka.TopicPartition
	// Start is when the transaction's first partition was added (zero:
	// none yet; -1 in the record); LastUpdate is the last transition.
	Start, LastUpdate time.Time
	// ClientVersion is the transaction version of the client's last
	// transition.
	ClientVersion Version
}

// Clone returns a deep copy.
func (m *Metadata) Clone() *Metadata {
	c := *m
	c.Partitions = append([]kafka.TopicPartition(nil), m.Partitions...)
	return &c
}

// HasPartition reports whether tp is in the transaction.
func (m *Metadata) HasPartition(tp kafka.TopicPartition) bool {
	i := sort.Search(len(m.Partitions), func(i int) bool { return !lessTP(m.Partitions[i], tp) })
	return i < len(m.Partitions) && m.Partitions[i] == tp
}

// String is a one-line description for tests and logs.
func (m *Metadata) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pid=%d epoch=%d last=%d prev=%d next=%d %s timeout=%s tv=%d", m.TransactionalID, m.ProducerID, m.ProducerEpoch, m.LastProducerEpoch, m.PreviousProducerID, m.NextProducerID, m.State, m.Timeout, m.ClientVersion)
	if len(m.Partitions) > 0 {
		parts := make([]string, len(m.Partitions))
		for i, tp := range m.Partitions {
			parts[i] = tp.String()
		}
		fmt.Fprintf(&b, " partitions=[%s]", strings.Join(parts, " "))
	}
	return b.String()
}

func lessTP(a, b kafka.TopicPartition) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}

// union returns the sorted union of a (sorted) and b, and whether b added
// anything.
func union(a, b []kafka.TopicPartition) ([]kafka.TopicPartition, bool) {
	out := append([]kafka.TopicPartition(nil), a...)
	added := false
	seen := make(map[kafka.TopicPartition]bool, len(a)+len(b))
	for _, tp := range a {
		seen[tp] = true
	}
	for _, tp := range b {
		if !seen[tp] {
			seen[tp] = true
			out = append(out, tp)
			added = true
		}
	}
	sort.Slice(out, func(i, j int) bool { return lessTP(out[i], out[j]) })
	return out, added
}

// millis drops what the log cannot hold below a millisecond, so a
// Metadata and its replayed record agree.
func millis(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli())
}
