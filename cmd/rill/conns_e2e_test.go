package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Out of descriptors, the broker's listener backs off: one log line for
// the episode, little CPU while it lasts, and once connections close a new
// client is served (issue 16). netserver/accept_test.go tests the same in
// process for both transports; this is the real process under a real
// limit.
func TestAcceptBacksOffAtDescriptorLimit(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, rillBin, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	b := startBrokerCmd(t, cmd)

	// Connect until the broker's accepts fail: the kernel completes the
	// handshakes of the ones it cannot accept (they wait in the backlog).
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for !strings.Contains(b.log(), "accept failing") {
		if len(conns) == 400 {
			t.Fatalf("400 connections under a 256 descriptor limit and no accept failed:\n%s", b.log())
		}
		c, err := net.DialTimeout("tcp", b.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if len(conns) > 200 {
			time.Sleep(10 * time.Millisecond) // the broker's accept loop catches up: the log tells
		}
	}

	before := procCPU(t, b.cmd.Process.Pid)
	time.Sleep(2 * time.Second)
	spent := procCPU(t, b.cmd.Process.Pid) - before
	t.Logf("the broker spent %v of CPU in 2 s out of descriptors", spent)
	if spent > 300*time.Millisecond {
		t.Errorf("the broker spent %v of CPU in 2 s out of descriptors: its accept loop spins", spent)
	}
	if n := strings.Count(b.log(), "accept failing"); n != 1 {
		t.Errorf("%d log lines for one episode, want 1:\n%s", n, b.log())
	}

	// Half the connections go; their descriptors come back to the broker.
	for _, c := range conns[:len(conns)/2] {
		c.Close()
	}
	conns = conns[len(conns)/2:]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(client(t, b.addr)).ListBrokers(ctx); err != nil {
		t.Fatalf("a new client after descriptors freed: %v\n%s", err, b.log())
	}
	if !strings.Contains(b.log(), `msg="accept recovered"`) {
		t.Errorf("no log line for the recovery:\n%s", b.log())
	}
	b.stop()
}

// 10,000 idle connections, each after ApiVersions and Metadata as a client
// connects, stay served, and a producer is served beside them (issue 16).
// Both processes need a descriptor per connection: under this machine's
// 20,000 limit each. It takes about 7 s with the race-built broker;
// bench/conns measures their memory (BENCHMARKS.md, "Connections").
func TestManyIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	const n = 10000
	b := startBroker(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(client(t, b.addr)).CreateTopic(ctx, 1, 1, nil, "idle"); err != nil {
		t.Fatal(err)
	}

	conns := make([]*rawConn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				c, err := dialRaw(b.addr)
				if err == nil {
					conns[i] = c
					err = c.hello("idle")
				}
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v\n%s", err, b.log())
	}

	cl := client(t, b.addr, kgo.DefaultProduceTopic("idle"))
	if err := cl.ProduceSync(ctx, kgo.StringRecord("beside 10,000 idle connections")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += n / 20 {
		if err := conns[i].roundTrip(kmsg.NewPtrApiVersionsRequest()); err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
	}
	b.stop()
}

// rawConn is a Kafka connection without a client library: 10,000 kgo
// clients would cost this process more than the broker.
type rawConn struct {
	net.Conn
	r    *bufio.Reader
	corr int32
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return &rawConn{Conn: c, r: bufio.NewReaderSize(c, 4<<10)}, nil
}

// roundTrip sends req and reads one answer, checking its correlation ID.
func (c *rawConn) roundTrip(req kmsg.Request) error {
	c.corr++
	if _, err := c.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, c.corr)); err != nil {
		return err
	}
	var head [8]byte
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return err
	}
	if corr := int32(binary.BigEndian.Uint32(head[4:])); corr != c.corr {
		return fmt.Errorf("answer to correlation ID %d, want %d", corr, c.corr)
	}
	_, err := c.r.Discard(int(binary.BigEndian.Uint32(head[:])) - 4)
	return err
}

func (c *rawConn) hello(topic string) error {
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "e2e", "1"
	if err := c.roundTrip(av); err != nil {
		return fmt.Errorf("ApiVersions: %w", err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 12
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(topic)}}
	if err := c.roundTrip(md); err != nil {
		return fmt.Errorf("Metadata: %w", err)
	}
	return nil
}

// procCPU is a process's user plus system CPU time, from
// /proc/<pid>/stat (in clock ticks of 1/100 s).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // the name may hold spaces
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
