package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// listeningLine is the broker's log record for a Kafka listener it serves
// (cmd/rill: msg=listening ... addr=HOST:PORT).
var listeningLine = regexp.MustCompile(`msg=listening .*?\baddr=(\S+)`)

// Serve starts cmd, a `rill serve` command line, and waits until it has
// logged n listening records, returning their addresses in the order
// logged: the broker says when it listens, so nothing is polled. Every line
// of its stderr goes on to logw (nil: discarded) for as long as it runs;
// the caller must not set cmd.Stderr. If the broker exits or does not log
// n listeners within timeout, it is killed and waited for.
func Serve(cmd *exec.Cmd, logw io.Writer, n int, timeout time.Duration) ([]string, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addrs := make(chan string, n)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- m[1]:
				default: // more than n: never block the log reader
				}
			}
			if logw != nil {
				fmt.Fprintln(logw, sc.Text())
			}
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var out []string
	for len(out) < n {
		select {
		case a := <-addrs:
			out = append(out, a)
		case <-ended:
			for len(out) < n && len(addrs) > 0 { // logged before it ended
				out = append(out, <-addrs)
			}
			if len(out) == n {
				break
			}
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("bench: %s exited after %d of %d listeners", cmd.Path, len(out), n)
		case <-timer.C:
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("bench: %s logged %d of %d listeners in %v", cmd.Path, len(out), n, timeout)
		}
	}
	return out, nil
}

// BuildRill builds github.com/rillmq/rill/cmd/rill (the checkout the tool
// runs from) into a new temporary directory named after tool, for the
// bench tools that start `rill serve` themselves; the caller removes the
// directory (filepath.Dir of the binary).
func BuildRill(ctx context.Context, tool string) (string, error) {
	dir, err := os.MkdirTemp("", "rill-"+tool+"-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rill")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/rillmq/rill/cmd/rill").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building rill: %v\n%s", err, out)
	}
	return bin, nil
}
