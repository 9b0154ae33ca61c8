package netserver

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// KIP-219 on both transports: a produce over its client's quota is
// answered at once with the throttle time, and the connection is muted
// for it: a request pipelined behind it is answered only once the
// throttle is over. Another client's connection is not slowed meanwhile.
func TestThrottledConnectionIsMuted(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			batch, err := format.BuildBatch(format.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: time.Now().UnixMilli()},
				[]format.Record{{Value: bytes.Repeat([]byte("x"), 2000)}})
			if err != nil {
				t.Fatal(err)
			}
			produce := kmsg.NewPtrProduceRequest()
			produce.Acks, produce.TimeoutMillis = 1, 5000
			produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}
			frame := requestFrame(produce, 9, 1)
			// A quota the first produce exceeds by 4%: over the first 10
			// s span, a throttle of about 400 ms.
			quota := float64(int(float64(len(frame)-4) / 10.4))
			alter := kmsg.NewPtrAlterClientQuotasRequest()
			alter.Entries = []kmsg.AlterClientQuotasRequestEntry{{Entity: []kmsg.AlterClientQuotasRequestEntryEntity{{Type: "client-id", Name: kmsg.StringPtr("test")}},
				Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: quota}}}}
			admin, _ := net.Dial("tcp", s.Addr().String())
			defer admin.Close()
			ar := kmsg.NewPtrAlterClientQuotasResponse()
			ar.Version = 1
			if err := ar.ReadFrom(roundTrip(t, admin, requestFrame(alter, 1, 1))[5:]); err != nil || ar.Entries[0].ErrorCode != 0 {
				t.Fatalf("alter: %v %+v", err, ar.Entries)
			}

			c, _ := net.Dial("tcp", s.Addr().String())
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			start := time.Now()
			if _, err := c.Write(append(frame, apiVersionsFrame(0, 2)...)); err != nil {
				t.Fatal(err)
			}
			first := readFrame(t, c)
			answered := time.Since(start)
			pr := kmsg.NewPtrProduceResponse()
			pr.Version = 9
			if err := pr.ReadFrom(first[5:]); err != nil {
				t.Fatal(err)
			}
			throttle := time.Duration(pr.ThrottleMillis) * time.Millisecond
			if throttle < 200*time.Millisecond || throttle > time.Second {
				t.Fatalf("throttle %v, want about 400 ms", throttle)
			}
			// Answered before its throttle ran out (loose: a loaded
			// machine under -race may take a while to answer at all).
			if answered >= throttle {
				t.Fatalf("the throttled produce was answered after %v (throttle %v): not at once", answered, throttle)
			}
			// Another client, meanwhile, is answered at once.
			other := kmsg.NewRequestFormatter(kmsg.FormatterClientID("other")).AppendRequest(nil, withVersion(kmsg.NewPtrApiVersionsRequest(), 0), 7)
			o, _ := net.Dial("tcp", s.Addr().String())
			defer o.Close()
			t0 := time.Now()
			roundTrip(t, o, other)
			if d := time.Since(t0); d >= throttle {
				t.Fatalf("another client waited %v", d)
			}
			readFrame(t, c) // the pipelined ApiVersions
			if waited := time.Since(start); waited < throttle-10*time.Millisecond {
				t.Fatalf("the pipelined request was answered after %v, within the %v throttle", waited, throttle)
			}
		})
	}
}

func withVersion[R kmsg.Request](r R, v int16) R {
	r.SetVersion(v)
	return r
}
