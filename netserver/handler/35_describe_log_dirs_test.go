package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeLogDirs v5 (KIP-1066) answers the one data directory, never
// cordoned, with its partitions.
func TestDescribeLogDirsV5(t *testing.T) {
	requireServed(t, 35, 5)
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 2})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	resp := sendAs[*kmsg.DescribeLogDirsResponse](t, b, superUser, kmsg.NewPtrDescribeLogDirsRequest(), 5)
	if resp.ErrorCode != 0 || len(resp.Dirs) != 1 {
		t.Fatalf("answer: %+v", resp)
	}
	d := resp.Dirs[0]
	if d.ErrorCode != 0 || d.IsCordoned || d.Dir != b.engine.DataDir() {
		t.Errorf("dir %q code %d cordoned %v, want %q, 0, false", d.Dir, d.ErrorCode, d.IsCordoned, b.engine.DataDir())
	}
	partitions := 0
	for _, topic := range d.Topics {
		if topic.Topic == "t" {
			partitions += len(topic.Partitions)
		}
	}
	if partitions != 2 {
		t.Errorf("topic t: %d partitions listed, want 2", partitions)
	}
	// The answer encodes at v5, IsCordoned included.
	decoded := kmsg.NewPtrDescribeLogDirsResponse()
	decoded.SetVersion(5)
	if err := decoded.ReadFrom(resp.AppendTo(nil)); err != nil || len(decoded.Dirs) != 1 || decoded.Dirs[0].IsCordoned {
		t.Errorf("v5 round trip: %v %+v", err, decoded)
	}
}
