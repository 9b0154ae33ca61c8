package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A second `rill serve` on a data directory a running broker holds must
// exit at once, naming the directory and the holder's pid, and must leave
// the running broker untouched: it keeps accepting produce requests, shuts
// down cleanly, and restarts with every record.
func TestDataDirLockRefusesSecondBroker(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	const topic = "locked"
	cl := client(t, b.addr, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	produce := func(from, n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := from; i < from+n; i++ {
			r := &kgo.Record{Value: []byte(fmt.Sprintf("v-%06d", i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v\nbroker log:\n%s", i, err, b.log())
			}
		}
	}
	produce(0, 100)

	second := exec.Command(rillBin, "serve", "--data-dir", dir, "--listen", freePort(t))
	var stderr bytes.Buffer
	second.Stderr = &stderr
	start := time.Now()
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- second.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(20 * time.Second):
		// It is serving the same directory: stop it the way an operator
		// would, which (without the lock) writes the clean-shutdown
		// marker under the running broker.
		second.Process.Signal(syscall.SIGTERM)
		<-exited
		t.Errorf("a second broker started on %s, which pid %d serves:\n%s", dir, b.cmd.Process.Pid, stderr.String())
	}
	elapsed := time.Since(start)
	if !t.Failed() {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
			t.Errorf("second broker: exit %v, want a non-zero exit:\n%s", err, stderr.String())
		}
		if elapsed > 10*time.Second {
			t.Errorf("second broker took %v to give up", elapsed)
		}
		msg := stderr.String()
		for _, want := range []string{
			dir,
			fmt.Sprintf("pid %d", b.cmd.Process.Pid),
			filepath.Join(dir, ".lock"),
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("second broker's stderr lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, `msg="storage engine open"`) || strings.Contains(msg, "msg=listening") {
			t.Errorf("second broker opened the data directory before failing:\n%s", msg)
		}
		t.Logf("second broker exited after %v: %s", elapsed.Round(time.Millisecond), strings.TrimSpace(msg))
	}

	// The running broker is unharmed.
	produce(100, 100)
	if got := consumeAll(t, b.addr, topic, 200); len(got) != 200 {
		t.Fatalf("consumed %d records, want 200", len(got))
	}
	b.stop()

	// And it restarts from its own clean shutdown with every record.
	b2 := startBroker(t, dir)
	if !strings.Contains(b2.log(), "clean_shutdown_before=true") {
		t.Errorf("restart did not see the clean shutdown:\n%s", b2.log())
	}
	got := consumeAll(t, b2.addr, topic, 200)
	checkOrder(t, got, 200)
	b2.stop()
}
