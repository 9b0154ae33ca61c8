package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rillmq/rill/bench"
)

// broker is a `rill serve` child process on a loopback ephemeral port.
type broker struct {
	cmd  *exec.Cmd
	addr string
	dir  string
}

// startBroker runs bin with a fresh data directory and waits for its
// listening line. Its stderr goes on to logw (the log is kept for a
// reader; only the listening line is parsed).
func startBroker(bin, transport string, logw io.Writer, extra ...string) (*broker, error) {
	dir, err := os.MkdirTemp("", "rill-conns-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0",
		"--set", "net.transport=" + transport, "--set", "admin.listeners="}, extra...)
	cmd := exec.Command(bin, args...)
	addrs, err := bench.Serve(cmd, logw, 1, 30*time.Second)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &broker{cmd: cmd, dir: dir, addr: addrs[0]}, nil
}

// stop ends the broker (SIGTERM, then SIGKILL after 10 s) and removes its
// data.
func (b *broker) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(b.dir)
}

// memory is a process's resident memory from /proc/<pid>/status, in bytes.
type memory struct {
	RSS, Anon int64
}

func (b *broker) memory() (memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	if err != nil {
		return memory{}, err
	}
	var m memory
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.RSS = kb << 10
		case "RssAnon:":
			m.Anon = kb << 10
		}
	}
	return m, nil
}

// cpu is the broker's user plus system CPU time so far, from
// /proc/<pid>/stat (bench.ProcessCPU).
func (b *broker) cpu() (time.Duration, error) { return bench.ProcessCPU(b.cmd.Process.Pid) }
