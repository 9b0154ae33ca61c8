package sharesession

import (
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

var (
	tp0 = Partition{TopicID: [16]byte{1}, Partition: 0}
	tp1 = Partition{TopicID: [16]byte{1}, Partition: 1}
)

func TestEpochsAdvanceAndRefuseReplays(t *testing.T) {
	c := New(0)
	k := Key{"g", "m"}
	if _, err := c.Open(k, "conn", []Partition{tp0}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Advance(k, 1, []Partition{tp1}, nil)
	if err != nil || s.Epoch != 2 || len(s.Partitions) != 2 {
		t.Fatalf("advance 1: %+v %v", s, err)
	}
	if _, err := c.Advance(k, 1, nil, nil); !errors.Is(err, kerr.InvalidShareSessionEpoch) {
		t.Fatalf("replayed epoch 1: %v", err)
	}
	s, err = c.Advance(k, 2, nil, []Partition{tp0})
	if err != nil || len(s.Partitions) != 1 {
		t.Fatalf("forget: %+v %v", s, err)
	}
	if _, ok := s.Partitions[tp1]; !ok {
		t.Fatalf("forgot the wrong partition: %+v", s)
	}
	if _, err := c.Advance(Key{"g", "other"}, 1, nil, nil); !errors.Is(err, kerr.ShareSessionNotFound) {
		t.Fatalf("unknown member: %v", err)
	}
	parts, err := c.Close(k)
	if err != nil || len(parts) != 1 {
		t.Fatalf("close: %v %v", parts, err)
	}
	if _, err := c.Close(k); !errors.Is(err, kerr.ShareSessionNotFound) {
		t.Fatalf("second close: %v", err)
	}
}

func TestEpochWrapsToOne(t *testing.T) {
	if nextEpoch(math.MaxInt32) != 1 || nextEpoch(7) != 8 {
		t.Fatal("nextEpoch")
	}
}

func TestOpenReplacesAndLimits(t *testing.T) {
	c := New(2)
	a, b, d := Key{"g", "a"}, Key{"g", "b"}, Key{"g", "d"}
	if _, err := c.Open(a, 1, []Partition{tp0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(b, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(d, 2, nil); !errors.Is(err, kerr.ShareSessionLimitReached) {
		t.Fatalf("third session in a cache of two: %v", err)
	}
	// Re-opening a member's session does not count against the limit,
	// and hands back what the old one read.
	replaced, err := c.Open(a, 2, []Partition{tp1})
	if err != nil || len(replaced) != 1 {
		t.Fatalf("reopen: %v %v", replaced, err)
	}
	// Connection 1 now has only b; connection 2 has a.
	closed := c.CloseConn(1)
	if len(closed) != 1 || closed[0].Key != b {
		t.Fatalf("closing connection 1: %+v", closed)
	}
	if c.Len() != 1 {
		t.Fatalf("len %d", c.Len())
	}
	closed = c.CloseConn(2)
	if len(closed) != 1 || closed[0].Key != a || len(closed[0].Partitions) != 1 {
		t.Fatalf("closing connection 2: %+v", closed)
	}
	if c.Len() != 0 || len(c.mu.byConn) != 0 {
		t.Fatal("sessions left")
	}
}
