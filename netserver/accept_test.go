package netserver

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/netserver/handler"
)

// Out of file descriptors, a listener backs off instead of ending or
// spinning: one log line when the episode begins, little CPU while it
// lasts, one line when accepts succeed again, and a new client is served
// once descriptors free up. The test lowers this process's own descriptor
// limit, so it runs alone (no t.Parallel in the package).
func TestAcceptSurvivesEMFILE(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			log, rec := logtest.New(t)
			b, closeEngine, err := handler.NewInMemory(map[string]int32{"t": 1})
			if err != nil {
				t.Fatal(err)
			}
			cfg := cfgFor(transport)
			cfg.Addr = "127.0.0.1:0"
			s, err := Listen(cfg, b, log)
			if err != nil {
				t.Fatal(err)
			}
			defer closeEngine()
			defer s.Close()
			addr := s.Addr().String()
			first, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			roundTrip(t, first, apiVersionsFrame(0, 1))

			restore := lowerFDLimit(t, 64)
			fillers := fillFDs(t)
			// One descriptor free: the client's socket takes it and the
			// server's accept has none left.
			fillers[len(fillers)-1].Close()
			fillers = fillers[:len(fillers)-1]
			stuck, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("dialing with one descriptor free: %v", err)
			}
			defer stuck.Close()
			waitFor(t, "the episode's log line", func() bool { return rec.Count("accept failing") > 0 })

			before := cpuTime(t)
			time.Sleep(1500 * time.Millisecond) // the episode goes on
			spent := cpuTime(t) - before
			t.Logf("%v of CPU in 1.5 s out of descriptors", spent)
			if spent > 300*time.Millisecond {
				t.Errorf("the process spent %v of CPU in 1.5 s out of descriptors: the accept loop spins", spent)
			}
			if n := rec.Count("accept failing"); n != 1 {
				t.Errorf("%d log lines for one episode, want 1", n)
			}

			for _, f := range fillers {
				f.Close()
			}
			restore()
			fresh, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			roundTrip(t, fresh, apiVersionsFrame(0, 2)) // within the 1 s backoff's bound
			if transport == "netconn" {
				// It waited in the backlog, not dropped.
				roundTrip(t, stuck, apiVersionsFrame(0, 3))
			}
			waitFor(t, "the recovery's log line", func() bool { return rec.Count("accept recovered", "failed_accepts=") == 1 })
			if n := rec.Count("accept failing"); n != 1 {
				t.Errorf("%d episode lines after recovery, want 1", n)
			}
		})
	}
}

// lowerFDLimit sets this process's soft descriptor limit to what is open
// now plus room, and returns the restore.
func lowerFDLimit(t *testing.T, room int) func() {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	low := old
	low.Cur = uint64(len(open) + room)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
		}
	}
	t.Cleanup(restore)
	return restore
}

// fillFDs opens /dev/null until the process is out of descriptors.
func fillFDs(t *testing.T) []*os.File {
	t.Helper()
	var files []*os.File
	t.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
	})
	for range 1 << 16 {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	t.Fatal("never ran out of descriptors")
	return nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
