package engine

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// The writer half of TestSIGKILLDuringAppend: when this test binary runs
// with RILL_KILL_WRITER set, it appends forever and prints "ACK offset
// value" after each append returns, until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("RILL_KILL_WRITER"); dir != "" {
		killWriter(dir)
		return
	}
	os.Exit(m.Run())
}

func killWriter(dir string) {
	cfg := DefaultConfig(dir)
	cfg.IOEngine = os.Getenv("RILL_KILL_IO")
	cfg.Log.SegmentBytes = 64 << 10
	if os.Getenv("RILL_KILL_SYNC") == "1" {
		cfg.Log.FlushMessages = 1
	}
	// A cap of 2 evicts rolled segments' descriptors as the writer goes.
	cfg.OpenFilesMax, _ = strconv.Atoi(os.Getenv("RILL_KILL_OPEN_FILES"))
	e, err := Open(cfg)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	tp := kafka.TopicPartition{Topic: "kill", Partition: 0}
	l, err := e.Partition(tp)
	if err != nil {
		l, err = e.CreatePartition(tp, cfg.Log)
	}
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		v := fmt.Sprintf("v-%d-%d", os.Getpid(), i)
		n := 1 + i%5
		vals := make([][]byte, n)
		for j := range vals {
			vals[j] = []byte(fmt.Sprintf("%s-%d", v, j))
		}
		res, err := l.Append(format.SimpleBatch(format.CodecNone, time.Now().UnixMilli(), nil, vals), log.AppendOptions{AssignOffsets: true})
		if err != nil {
			fmt.Fprintln(out, "ERR", err)
			out.Flush()
			os.Exit(1)
		}
		for j := range vals {
			fmt.Fprintf(out, "ACK %d %s\n", res.BaseOffset+int64(j), vals[j])
		}
		out.Flush()
	}
}

// TestSIGKILLDuringAppend kills a writer process at random moments on the
// real file system and checks that every append it acknowledged is read
// back, at its offset, after recovery; then lets a new writer continue.
func TestSIGKILLDuringAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, mode := range []struct{ name, io, sync, openFiles string }{
		{"pwrite-sync", "pwrite", "1", "0"}, {"uring-sync", "uring", "1", "0"}, {"pwrite-nosync", "pwrite", "0", "0"},
		{"pwrite-nosync-openfiles2", "pwrite", "0", "2"}, {"uring-sync-openfiles2", "uring", "1", "2"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			acked := map[int64]string{}
			for round := 0; round < 4; round++ {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "RILL_KILL_WRITER="+dir, "RILL_KILL_IO="+mode.io, "RILL_KILL_SYNC="+mode.sync, "RILL_KILL_OPEN_FILES="+mode.openFiles)
				stdout, _ := cmd.StdoutPipe()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				lines := make(chan string, 1024)
				go func() {
					sc := bufio.NewScanner(stdout)
					for sc.Scan() {
						lines <- sc.Text()
					}
					close(lines)
				}()
				deadline := time.After(time.Duration(150+round*100) * time.Millisecond)
			read:
				for {
					select {
					case line, ok := <-lines:
						if !ok {
							break read
						}
						record(t, acked, line)
					case <-deadline:
						cmd.Process.Signal(syscall.SIGKILL)
						for line := range lines {
							record(t, acked, line)
						}
						break read
					}
				}
				cmd.Wait()
				verifyAcked(t, dir, acked)
			}
			if len(acked) < 100 {
				t.Fatalf("writer acknowledged only %d records", len(acked))
			}
			t.Logf("%d acknowledged records survived 4 SIGKILLs", len(acked))
		})
	}
}

func record(t *testing.T, acked map[int64]string, line string) {
	f := strings.Fields(line)
	if len(f) == 3 && f[0] == "ACK" {
		o, _ := strconv.ParseInt(f[1], 10, 64)
		acked[o] = f[2]
		return
	}
	if strings.HasPrefix(line, "ERR") {
		t.Fatalf("writer: %s", line)
	}
}

func verifyAcked(t *testing.T, dir string, acked map[int64]string) {
	t.Helper()
	e, err := Open(DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l, err := e.Partition(kafka.TopicPartition{Topic: "kill", Partition: 0})
	if err != nil {
		if len(acked) == 0 {
			return
		}
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, s := range l.Segments() {
		s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			return b.ForEachRecord(func(r format.Record) error {
				got[b.BaseOffset()+int64(r.OffsetDelta)] = string(r.Value)
				return nil
			})
		})
	}
	for o, v := range acked {
		if got[o] != v {
			t.Fatalf("acknowledged offset %d: want %q, found %q (LEO %d)", o, v, got[o], l.LogEndOffset())
		}
	}
	if int64(len(got)) != l.LogEndOffset() {
		t.Fatalf("log holds %d records but LEO is %d", len(got), l.LogEndOffset())
	}
}
