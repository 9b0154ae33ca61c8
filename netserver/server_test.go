package netserver

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/netserver/handler"
)

var transports = []string{"netconn", "gnet"}

func startTest(t *testing.T, cfg Config) Server {
	b, closeEngine, err := handler.NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	s, err := Listen(cfg, b, logtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); closeEngine() })
	return s
}

func apiVersionsFrame(version int16, corr int32) []byte {
	body := []byte{0, 18, byte(version >> 8), byte(version), 0, 0, 0, byte(corr), 0xff, 0xff}
	if version >= 3 {
		body = append(body, 0)       // header tags
		body = append(body, 1, 1, 0) // client software name, version: empty compact strings
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func roundTrip(t *testing.T, c net.Conn, frame []byte) []byte {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	return readFrame(t, c)
}

// readFrame reads one size-prefixed answer from c.
func readFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// A malformed request closes its own connection and no other.
func TestMalformedRequestClosesOnlyItsConnection(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			good, _ := net.Dial("tcp", s.Addr().String())
			defer good.Close()
			roundTrip(t, good, apiVersionsFrame(0, 1))
			for _, garbage := range [][]byte{
				{0, 0, 0, 3, 1, 2, 3},                             // shorter than a header
				{0x7f, 0xff, 0xff, 0xff},                          // over socket.request.max.bytes
				{0, 0, 0, 10, 0, 3, 0, 99, 0, 0, 0, 1, 0, 0},      // Metadata v99
				{0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 9, 9}, // Produce v9 with a broken body
			} {
				bad, _ := net.Dial("tcp", s.Addr().String())
				bad.Write(garbage)
				bad.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := bad.Read(make([]byte, 64)); err == nil {
					t.Fatalf("connection answered %d bytes to garbage %x instead of closing", n, garbage)
				}
				bad.Close()
			}
			resp := roundTrip(t, good, apiVersionsFrame(0, 2))
			if binary.BigEndian.Uint32(resp) != 2 {
				t.Fatal("healthy connection broken by others' garbage")
			}
		})
	}
}

// ApiVersions at a version we do not know gets the v0 fallback (KIP-511).
func TestApiVersionsFallback(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			s := startTest(t, cfgFor(transport))
			c, _ := net.Dial("tcp", s.Addr().String())
			defer c.Close()
			resp := roundTrip(t, c, apiVersionsFrame(99, 7))
			var r kmsg.ApiVersionsResponse
			r.Version = 0
			if err := r.ReadFrom(resp[4:]); err != nil {
				t.Fatal(err)
			}
			if r.ErrorCode != 35 || len(r.ApiKeys) == 0 {
				t.Fatalf("fallback: code %d, %d keys", r.ErrorCode, len(r.ApiKeys))
			}
		})
	}
}

func TestMaxConnections(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			cfg := cfgFor(transport)
			cfg.MaxConnections = 1
			s := startTest(t, cfg)
			a, _ := net.Dial("tcp", s.Addr().String())
			defer a.Close()
			roundTrip(t, a, apiVersionsFrame(0, 1))
			b, _ := net.Dial("tcp", s.Addr().String())
			defer b.Close()
			b.Write(apiVersionsFrame(0, 1))
			b.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := b.Read(make([]byte, 8)); err == nil {
				t.Fatal("connection over max.connections was served")
			}
		})
	}
}

func cfgFor(transport string) Config {
	cfg := DefaultConfig("")
	cfg.Transport = transport
	return cfg
}

// connections.max.idle.ms closes a connection that sends nothing.
func TestIdleTimeout(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			cfg := cfgFor(transport)
			cfg.IdleTimeout = 300 * time.Millisecond
			s := startTest(t, cfg)
			c, _ := net.Dial("tcp", s.Addr().String())
			defer c.Close()
			roundTrip(t, c, apiVersionsFrame(0, 1))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("idle connection received data instead of closing")
			}
			if waited := time.Since(start); waited > 4*time.Second {
				t.Fatalf("idle connection not closed after %v", waited)
			}
		})
	}
}

// gnet: requests queued behind one still running (a long-poll Fetch here;
// a muted connection alike) are bounded by socket.request.max.bytes: a
// client that keeps sending past it is closed, with a log line, instead
// of growing the queue.
func TestGnetBoundsQueuedRequests(t *testing.T) {
	cfg := cfgFor("gnet")
	cfg.MaxRequestBytes = 64 << 10
	s, log := startLogged(t, cfg)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes = 5000, 1, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	start := time.Now()
	c.Write(requestFrame(fetch, 12, 1))
	// Let the worker take the Fetch alone (a batch it has taken is no
	// longer queued), then queue past the bound.
	time.Sleep(300 * time.Millisecond)
	filler := make([]byte, 8<<10) // never parsed: it only waits in the queue
	for i := 0; i < 12; i++ {
		c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(filler))), filler...))
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := c.Read(make([]byte, 4096)); err != nil {
			break
		}
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("closed after %v: the queue was not bounded while the Fetch waited", waited)
	}
	if len(log.Containing("queued unanswered")) == 0 {
		t.Fatal("no log line for the bound")
	}
}
