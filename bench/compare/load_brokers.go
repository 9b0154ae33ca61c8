package main

// The broker processes of -load: Rill (serveRill) and kfake (this program
// re-executed as a child), each with its pid for /proc.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rillmq/rill/bench"
)

// kfakeChildEnv makes this program, re-executed, serve kfake until its
// stdin closes or it is interrupted.
const kfakeChildEnv = "RILL_COMPARE_KFAKE_CHILD"

// serveKfakeChild is the child's side: one kfake broker on loopback, its
// address printed on stdout.
func serveKfakeChild() error {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		return net.Listen(network, "127.0.0.1:0")
	}))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("kfake listening addr=" + c.ListenAddrs()[0])
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	eof := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
	select {
	case <-stop:
	case <-eof:
	}
	return nil
}

// loadBroker is a broker process under load.
type loadBroker struct {
	addr string
	pid  int
	stop func()
}

func startKfakeProcess() (loadBroker, error) {
	self, err := os.Executable()
	if err != nil {
		return loadBroker{}, err
	}
	cmd := exec.Command(self, "-load")
	cmd.Env = append(os.Environ(), kfakeChildEnv+"=1")
	stdin, _ := cmd.StdinPipe() // closing it ends the child if we die first
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return loadBroker{}, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "kfake listening addr=")
	if err != nil || !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return loadBroker{}, fmt.Errorf("kfake child: %q %v", line, err)
	}
	return loadBroker{addr: addr, pid: cmd.Process.Pid, stop: func() { stdin.Close(); cmd.Process.Signal(os.Interrupt); cmd.Wait() }}, nil
}

func startRillProcess(bin, dataDir string, extra ...string) (loadBroker, error) {
	addr, stop, err := serveRill(bin, dataDir, "127.0.0.1:0", extra...)
	if err != nil {
		return loadBroker{}, err
	}
	_, port, _ := net.SplitHostPort(addr)
	var n int
	fmt.Sscan(port, &n)
	pid, err := bench.ListenerPID(n)
	if err != nil {
		stop()
		return loadBroker{}, err
	}
	return loadBroker{addr: addr, pid: pid, stop: stop}, nil
}
