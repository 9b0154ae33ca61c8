package netserver

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// An idle connection holds no read or write buffer: the heap and stacks
// 200 idle connections add stay far under the 128 KiB a connection's two
// 64 KiB buffers alone would take.
func TestIdleConnectionsHoldNoBuffers(t *testing.T) {
	const n = 200
	s := startTest(t, cfgFor("netconn"))
	inUse := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	metadata := requestFrame(kmsg.NewPtrMetadataRequest(), 12, 2)
	before := inUse()
	for i := range n {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		roundTrip(t, c, apiVersionsFrame(3, int32(i)))
		roundTrip(t, c, metadata)
	}
	perConn := int64(inUse()-before) / n
	t.Logf("%d B of heap and stack per idle connection (server and client sides)", perConn)
	if perConn > 32<<10 {
		t.Errorf("%d B of heap and stack per idle connection, want under 32 KiB", perConn)
	}
}

// Answers pipelined ahead of an acks=0 Produce (which has no answer) are
// sent, not left in the writer while the connection waits for more.
func TestAnswerBeforeAcksZeroProduceIsSent(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			produce := kmsg.NewPtrProduceRequest()
			produce.Acks = 0
			produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0,
				Records: format.SimpleBatch(format.CodecNone, time.Now().UnixMilli(), nil, [][]byte{[]byte("v")})}}}}
			both := append(apiVersionsFrame(0, 1), requestFrame(produce, 9, 2)...)
			resp := roundTrip(t, c, both)
			if corr := int32(resp[0])<<24 | int32(resp[1])<<16 | int32(resp[2])<<8 | int32(resp[3]); corr != 1 {
				t.Fatalf("answer to correlation ID %d, want 1", corr)
			}
		})
	}
}
