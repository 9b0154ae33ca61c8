package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rillmq/rill/bench"
)

// broker is a `rill serve` child process on a loopback ephemeral port,
// with its own data directory.
type broker struct {
	bin   string
	args  []string
	logw  io.Writer
	cmd   *exec.Cmd
	addr  string
	dir   string
	start time.Duration // from exec to its listening record
}

// brokerArgs go on every broker's command line (-broker-cpuprofile).
var brokerArgs []string

// startBroker runs bin with a fresh data directory (admin listener off,
// plus extra settings) and waits for its listening record.
func startBroker(bin string, logw io.Writer, extra ...string) (*broker, error) {
	dir, err := os.MkdirTemp("", "rill-scale-")
	if err != nil {
		return nil, err
	}
	b := &broker{bin: bin, logw: logw, dir: dir,
		args: append([]string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--set", "admin.listeners="}, append(brokerArgs, extra...)...)}
	if err := b.run(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return b, nil
}

// starts numbers the brokers started, for their profiles' names.
var starts int

func (b *broker) run() error {
	starts++
	args := slices.Clone(b.args)
	for i := range args {
		if i > 0 && args[i-1] == "--cpuprofile" {
			args[i] += fmt.Sprintf(".%d", starts)
		}
	}
	b.cmd = exec.Command(b.bin, args...)
	t0 := time.Now()
	addrs, err := bench.Serve(b.cmd, b.logw, 1, 10*time.Minute)
	if err != nil {
		return err
	}
	b.start, b.addr = time.Since(t0), addrs[0]
	return nil
}

// shutdown ends the process (SIGTERM, then SIGKILL after 2 minutes) and
// returns how long it took to exit.
func (b *broker) shutdown() time.Duration {
	t0 := time.Now()
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.cmd.Process.Kill()
		<-done
	}
	return time.Since(t0)
}

// restart shuts the broker down cleanly and starts it again on the same
// data (and a new port): it returns the shutdown time; b.start is the new
// start-up time.
func (b *broker) restart() (time.Duration, error) {
	d := b.shutdown()
	return d, b.run()
}

// stop ends the broker and removes its data.
func (b *broker) stop() {
	if b.cmd.ProcessState == nil {
		b.shutdown()
	}
	os.RemoveAll(b.dir)
}

func (b *broker) pid() int { return b.cmd.Process.Pid }

// cpu is the broker's user plus system CPU time so far (/proc/PID/stat).
func (b *broker) cpu() time.Duration {
	d, err := bench.ProcessCPU(b.pid())
	if err != nil {
		return 0
	}
	return d
}

// memory is a process's resident memory, in bytes.
type memory struct {
	RSS  int64 `json:"rss_bytes"`
	Anon int64 `json:"rss_anon_bytes"`
}

func (b *broker) memory() memory {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.pid()))
	if err != nil {
		return memory{}
	}
	return parseStatus(string(raw))
}

// parseStatus reads VmRSS and RssAnon (kB) from /proc/PID/status.
func parseStatus(status string) memory {
	var m memory
	for _, line := range strings.Split(status, "\n") {
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
	return m
}
