package dirlock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rillmq/rill/engine/vfs"
)

// The holder half of TestAcquireConflictsAcrossProcesses: with
// RILL_DIRLOCK_HOLD set, the test binary locks that directory, prints
// "LOCKED" and holds the lock until stdin closes or it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("RILL_DIRLOCK_HOLD"); dir != "" {
		l, err := Acquire(vfs.Default, dir)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("LOCKED")
		bufio.NewReader(os.Stdin).ReadString('\n')
		l.Close()
		return
	}
	os.Exit(m.Run())
}

func TestAcquireConflictsWithinAProcess(t *testing.T) {
	for name, fs := range map[string]vfs.FS{"os": vfs.Default, "mem": vfs.NewMemFS()} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data") // Acquire creates it
			l, err := Acquire(fs, dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Acquire(fs, dir+"/") // the same directory, spelled differently
			var inUse *InUseError
			if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) {
				t.Fatalf("second Acquire: %v, want an InUseError", err)
			}
			if inUse.PID != os.Getpid() || inUse.Dir != dir || inUse.Path != filepath.Join(dir, FileName) {
				t.Fatalf("InUseError %+v", inUse)
			}
			for _, want := range []string{dir, fmt.Sprintf("pid %d", os.Getpid()), inUse.Path} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			if err := l.Check(); err != nil {
				t.Fatalf("Check while held: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := l.Check(); !errors.Is(err, ErrReleased) {
				t.Fatalf("Check after Close: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			l2, err := Acquire(fs, dir)
			if err != nil {
				t.Fatalf("Acquire after Close: %v", err)
			}
			l2.Close()
		})
	}
}

// Another process's lock is refused with its pid, and released when that
// process closes it or dies.
func TestAcquireConflictsAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	hold := func() (*exec.Cmd, *os.File) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "RILL_DIRLOCK_HOLD="+dir)
		stdin, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = stdin
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stdin.Close()
		line, _ := bufio.NewReader(out).ReadString('\n')
		if strings.TrimSpace(line) != "LOCKED" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("holder: %q", line)
		}
		return cmd, w
	}
	for _, release := range []string{"close", "SIGKILL"} {
		cmd, stdin := hold()
		_, err := Acquire(vfs.Default, dir)
		var inUse *InUseError
		if !errors.As(err, &inUse) || inUse.PID != cmd.Process.Pid {
			t.Fatalf("Acquire while pid %d holds the lock: %v", cmd.Process.Pid, err)
		}
		if !strings.Contains(err.Error(), "another rill process") {
			t.Errorf("message: %v", err)
		}
		if release == "close" {
			stdin.Close()
		} else {
			cmd.Process.Signal(syscall.SIGKILL)
			stdin.Close()
		}
		cmd.Wait()
		l, err := Acquire(vfs.Default, dir)
		if err != nil {
			t.Fatalf("after the holder's %s: %v", release, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, FileName)); string(got) != fmt.Sprintf("%d\n", os.Getpid()) {
			t.Errorf("lock file holds %q, want this pid", got)
		}
		l.Close()
	}
}
