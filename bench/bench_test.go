package bench

import (
	"bytes"
	"context"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/netserver"
	"github.com/rillmq/rill/netserver/handler"
)

// broker serves an in-memory Rill on a loopback port.
func broker(t *testing.T) string {
	t.Helper()
	b, closeBroker, err := handler.NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netserver.Listen(netserver.DefaultConfig("127.0.0.1:0"), b, logtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	b.Advertise("127.0.0.1", int32(srv.Addr().(*net.TCPAddr).Port))
	t.Cleanup(func() { srv.Close(); closeBroker() })
	return addr
}

func TestWorkloads(t *testing.T) {
	addr := broker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Records, cfg.RecordSize, cfg.Producers = []string{addr}, 3000, 200, 2
	var progress bytes.Buffer
	p, err := Produce(ctx, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if p.Records != 3000 || p.Bytes != 3000*200 || p.Latency == nil || p.Latency.P50 <= 0 || p.Latency.Max < p.Latency.P99 {
		t.Fatalf("produce result: %+v", p)
	}
	c, err := Consume(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Records != 3000 || c.Bytes != 3000*200 {
		t.Fatalf("consume result: %+v", c)
	}
	cfg.Records, cfg.Rate = 1500, 1000
	e, err := EndToEnd(ctx, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if e.Records != 1500 || e.Latency == nil || e.ElapsedSeconds < 1.2 || len(e.Timeline) < 1 {
		t.Fatalf("paced end-to-end result: %+v", e)
	}
	if !strings.Contains(progress.String(), "e2e") {
		t.Fatalf("no progress lines:\n%s", progress.String())
	}
	dir := t.TempDir()
	chart := filepath.Join(dir, "run.png")
	if err := WriteChart(chart, []Result{p, e}, []string{"produce", "e2e"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(chart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	if err := WriteJSON(filepath.Join(dir, "run.json"), []Result{p, c, e}); err != nil {
		t.Fatal(err)
	}
}

func TestLimitsMeasure(t *testing.T) {
	l, err := DiskWrite(t.TempDir(), 4<<20, 1<<20, true)
	if err != nil || l.MBPerSec <= 0 {
		t.Fatalf("disk: %+v %v", l, err)
	}
	l, err = Loopback(16<<20, 1<<20)
	if err != nil || l.MBPerSec <= 0 {
		t.Fatalf("loopback: %+v %v", l, err)
	}
}
