package bench

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncLog is a log the broker's reader writes while the test reads it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeWaitsForListeningRecords(t *testing.T) {
	var log syncLog
	cmd := exec.Command("sh", "-c", `echo 'msg="storage engine open"' >&2
echo 'level=INFO msg=listening component=server addr=127.0.0.1:1001 listener=A' >&2
echo 'level=INFO msg="controller quorum member listening" addr=127.0.0.1:9' >&2
echo 'level=INFO msg=listening component=server addr=127.0.0.1:1002 listener=B' >&2
exec sleep 30`)
	addrs, err := Serve(cmd, &log, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if len(addrs) != 2 || addrs[0] != "127.0.0.1:1001" || addrs[1] != "127.0.0.1:1002" {
		t.Fatalf("addresses %v, want the two listeners in order", addrs)
	}
	if !strings.Contains(log.String(), "storage engine open") {
		t.Fatalf("the log was not passed on: %q", log.String())
	}
}

func TestServeReportsAnEarlyExit(t *testing.T) {
	cmd := exec.Command("sh", "-c", `echo 'msg=listening addr=127.0.0.1:1' >&2; exit 1`)
	if _, err := Serve(cmd, nil, 2, 10*time.Second); err == nil || !strings.Contains(err.Error(), "exited after 1 of 2") {
		t.Fatalf("err %v, want an exit after 1 of 2 listeners", err)
	}
}
