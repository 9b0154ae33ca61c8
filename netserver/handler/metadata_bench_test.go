package handler

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/vfs"
)

// BenchmarkMetadataAllTopics answers an all-topics Metadata request (v12,
// what kgo sends) on a broker with many partitions and encodes the answer,
// as the server does. RILL_SCALE_PARTITIONS sets the partition count
// (default 10,000; issue 16's target is under 100 ms at 100,000), spread
// over topics of 1,000 partitions.
func BenchmarkMetadataAllTopics(b *testing.B) {
	parts := 10000
	if s := os.Getenv("RILL_SCALE_PARTITIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		parts = n
	}
	topics := map[string]int32{}
	for i := 0; i*1000 < parts; i++ {
		topics[fmt.Sprintf("t%03d", i)] = int32(min(1000, parts-i*1000))
	}
	br, closeAll, err := NewForTest(vfs.Default, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer closeAll()
	for name, n := range topics {
		// Creation answers REQUEST_TIMED_OUT when the partitions take
		// longer than the request's wait; they are created all the same.
		if _, err := br.createTopicAnywhere(name, n, 1, nil, nil); err != nil && toKerr(err) != kerr.RequestTimedOut {
			b.Fatal(err)
		}
	}
	// Partitions are created in the background after their topic; the
	// numbers are the answer's cost, not creation's.
	deadline := time.Now().Add(10 * time.Minute)
	for len(br.engine.Partitions()) < parts {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d partitions created", len(br.engine.Partitions()), parts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.Topics = nil
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	cpu0 := processCPU(b)
	for range b.N {
		resp := br.metadata(context.Background(), req).(*kmsg.MetadataResponse)
		buf := resp.AppendTo(nil)
		size = len(buf)
	}
	// The process's CPU time per answer: on a shared machine the wall time
	// per op measures the neighbours (the broker idles otherwise).
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size), "response-bytes")
}

// processCPU is the process's user and system time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
