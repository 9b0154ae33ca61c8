package netserver

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/netserver/handler"
)

func startLogged(t *testing.T, cfg Config) (Server, *logtest.Recorder) {
	b, closeEngine, err := handler.NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	logger, log := logtest.New(t)
	s, err := Listen(cfg, b, logger)
	if err != nil {
		t.Fatal(err)
	}
	// Real clients reach the broker at the port bound, after Metadata.
	b.Advertise("127.0.0.1", int32(s.Addr().(*net.TCPAddr).Port))
	t.Cleanup(func() { s.Close(); closeEngine() })
	return s, log
}

func requestFrame(req kmsg.Request, version int16, corr int32) []byte {
	req.SetVersion(version)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, corr)
}

// A request outside the API table (a key we do not serve, a version below
// or above the served range, a key kmsg does not know) is not answered: it
// closes its connection, with one log line, and never leaves the client
// waiting.
func TestUnsupportedRequestClosesWithOneLogLine(t *testing.T) {
	requests := map[string][]byte{
		"DescribeDelegationToken v1 (no row)": requestFrame(kmsg.NewPtrDescribeDelegationTokenRequest(), 1, 1),
		"Fetch v3 (below the range)":          requestFrame(kmsg.NewPtrFetchRequest(), 3, 1),
		"Produce v2 (below)":                  requestFrame(kmsg.NewPtrProduceRequest(), 2, 1),
		"key 999":                             {0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff},
	}
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s, log := startLogged(t, cfgFor(transport))
			for name, frame := range requests {
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				c.Write(frame)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := c.Read(make([]byte, 64)); err == nil {
					t.Fatalf("%s: answered %d bytes instead of closing", name, n)
				} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("%s: connection neither answered nor closed", name)
				}
				lines := log.Containing(c.LocalAddr().String())
				if len(lines) != 1 || !strings.Contains(lines[0], "unsupported request") {
					t.Fatalf("%s: want one log line about an unsupported request, got %q", name, lines)
				}
				c.Close()
			}
		})
	}
}

// A long poll in flight ends when its client closes the connection, not at
// its deadline: requests run under the connection's context. The probe is
// the handler's goroutine itself: it must be seen waiting, then gone well
// before the poll's two-minute deadline.
func TestLongPollEndsWhenItsConnectionCloses(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport+"/Fetch", func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(requestFrame(longFetch(120_000), 11, 1))
			closeWhileWaiting(t, c, "handler.(*Broker).fetch(")
		})
		t.Run(transport+"/FetchWithRequestPipelinedBehind", func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(append(requestFrame(longFetch(120_000), 11, 1), apiVersionsFrame(0, 2)...))
			closeWhileWaiting(t, c, "handler.(*Broker).fetch(")
		})
		t.Run(transport+"/JoinGroup", func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			join := func() *kmsg.JoinGroupRequest {
				r := kmsg.NewPtrJoinGroupRequest()
				r.Group, r.SessionTimeoutMillis, r.ProtocolType = "g", 120_000, "consumer"
				r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{}}}
				return r
			}
			// The first member joins and never syncs; a second one's join
			// then waits for the first to rejoin, up to two minutes.
			first, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			// As every client does, find the coordinator first: the
			// broker creates the offsets topic and loads the group's
			// partition as its leader.
			fc := kmsg.NewPtrFindCoordinatorRequest()
			fc.CoordinatorKey = "g"
			roundTrip(t, first, requestFrame(fc, 0, 0))
			resp := roundTrip(t, first, requestFrame(join(), 0, 1))
			var jr kmsg.JoinGroupResponse
			if err := jr.ReadFrom(resp[4:]); err != nil || jr.ErrorCode != 0 || jr.MemberID == "" {
				t.Fatalf("first join: %+v, %v", jr, err)
			}
			second, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			second.Write(requestFrame(join(), 0, 1))
			closeWhileWaiting(t, second, "handler.(*Broker).joinGroup(")
		})
	}
}

// A request that outlives the connection watch's delay, with another
// pipelined behind it, is answered, then the next, then more: the watch
// hands the connection back intact (nothing consumed, no deadline left
// behind, also with no idle timeout).
func TestSlowRequestThenPipelinedOne(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			cfg := cfgFor(transport)
			cfg.IdleTimeout = 0
			s := startTest(t, cfg)
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := int32(0); i < 3; i++ {
				resp := roundTrip(t, c, append(requestFrame(longFetch(200), 11, 10*i), apiVersionsFrame(0, 10*i+1)...))
				if corr := int32(binary.BigEndian.Uint32(resp)); corr != 10*i {
					t.Fatalf("first answer has correlation id %d, want %d", corr, 10*i)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var size [4]byte
				if _, err := io.ReadFull(c, size[:]); err != nil {
					t.Fatalf("pipelined request unanswered: %v", err)
				}
				next := make([]byte, binary.BigEndian.Uint32(size[:]))
				if _, err := io.ReadFull(c, next); err != nil {
					t.Fatal(err)
				}
				if corr := int32(binary.BigEndian.Uint32(next)); corr != 10*i+1 {
					t.Fatalf("second answer has correlation id %d, want %d", corr, 10*i+1)
				}
			}
		})
	}
}

// longFetch waits up to maxWait ms for a byte of the empty topic t.
func longFetch(maxWait int32) *kmsg.FetchRequest {
	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis, fetch.MinBytes = maxWait, 1
	fetch.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{
		{Partition: 0, FetchOffset: 0, PartitionMaxBytes: 1 << 20},
	}}}
	return fetch
}

// closeWhileWaiting waits until one goroutine is in fn, closes c and waits
// until none is.
func closeWhileWaiting(t *testing.T, c net.Conn, fn string) {
	t.Helper()
	waitFor(t, "the request to wait in "+fn, func() bool { return goroutinesIn(fn) == 1 })
	c.Close()
	waitFor(t, "the request to end with its connection", func() bool { return goroutinesIn(fn) == 0 })
}

func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte(fn))
		}
		buf = make([]byte, 2*len(buf))
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}
