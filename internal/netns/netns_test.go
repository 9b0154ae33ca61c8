package netns

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The helper process: the test binary run again inside a host namespace
// (Host.Command), as a TCP echo listener or a single dial.
func TestMain(m *testing.M) {
	switch mode, addr, _ := strings.Cut(os.Getenv("NETNS_HELPER"), " "); mode {
	case "listen":
		os.Exit(echo(addr))
	case "dial":
		os.Exit(dial(addr))
	}
	os.Exit(m.Run())
}

func echo(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() { io.Copy(c, c); c.Close() }()
	}
}

// dial connects to addr and has one line echoed within a second.
func dial(addr string) int {
	if err := roundTrip(addr, time.Second); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

func roundTrip(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		return fmt.Errorf("echo: %q %v", line, err)
	}
	return nil
}

func helper(h *Host, mode, addr string) *exec.Cmd {
	cmd := h.Command(os.Args[0], "-test.run=^$")
	// GORACE: a race-built binary otherwise sleeps a second at exit.
	cmd.Env = append(os.Environ(), "NETNS_HELPER="+mode+" "+addr, "GORACE=atexit_sleep_ms=0")
	return cmd
}

const port = ":7000"

// reaches reports whether from can open a connection to to's echo
// listener and get a line back.
func reaches(t *testing.T, from, to *Host) bool {
	t.Helper()
	if from.Index == 0 {
		return roundTrip(to.Addr+port, time.Second) == nil
	}
	return helper(from, "dial", to.Addr+port).Run() == nil
}

func newNet(t *testing.T, hosts int) *Net {
	t.Helper()
	Require(t)
	n, err := New(Config{Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// startEchoes runs an echo listener in every host namespace.
func startEchoes(t *testing.T, n *Net) {
	t.Helper()
	for _, h := range n.Hosts() {
		cmd := helper(h, "listen", h.Addr+port)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
			t.Fatalf("echo listener on %v: %q", h, line)
		}
	}
}

func TestNetnsCutIsolateHeal(t *testing.T) {
	before, _ := run("ip", "route", "show", "default")
	n := newNet(t, 3)
	if after, _ := run("ip", "route", "show", "default"); after != before {
		t.Fatalf("the root namespace's default route changed from %q to %q", before, after)
	}
	startEchoes(t, n)
	h1, h2, h3, cl := n.Host(1), n.Host(2), n.Host(3), n.Client()
	expect := func(what string, from, to *Host, want bool) {
		t.Helper()
		if got := reaches(t, from, to); got != want {
			t.Fatalf("%s: %v reaches %v: %v, want %v (faults %q)", what, from, to, got, want, n.Faults())
		}
	}
	all := func(what string) { // the client to every host, and the hosts in a ring
		t.Helper()
		for i, a := range n.Hosts() {
			expect(what, cl, a, true)
			expect(what, a, n.Hosts()[(i+1)%len(n.Hosts())], true)
		}
	}
	all("at start")

	if err := n.Cut(h1, h2); err != nil {
		t.Fatal(err)
	}
	expect("cut 1-2", h2, h1, false)
	expect("cut 1-2", h1, h2, false)
	expect("cut 1-2", h3, h1, true)
	expect("cut 1-2", h1, h3, true)
	expect("cut 1-2", cl, h1, true)
	expect("cut 1-2", cl, h2, true)
	if err := n.HealAll(); err != nil {
		t.Fatal(err)
	}
	all("healed")

	if err := n.Isolate(h3, false); err != nil {
		t.Fatal(err)
	}
	expect("3 isolated from hosts", h1, h3, false)
	expect("3 isolated from hosts", h3, h2, false)
	expect("3 isolated from hosts", h1, h2, true)
	expect("3 isolated from hosts", cl, h3, true)
	if err := n.Isolate(h3, true); err != nil {
		t.Fatal(err)
	}
	expect("3 isolated from all", cl, h3, false)
	expect("3 isolated from all", cl, h1, true)
	if err := n.HealAll(); err != nil {
		t.Fatal(err)
	}
	all("healed again")
}

// A 50% lossy link passes some connections and not others: each attempt
// needs its SYN and the SYN-ACK through (one in four), and a lost one is
// retransmitted only after a second, past the attempt's timeout.
func TestNetnsLossy(t *testing.T) {
	n := newNet(t, 1)
	startEchoes(t, n)
	h1, cl := n.Host(1), n.Client()
	if err := n.Lossy(cl, h1, 50); err != nil {
		t.Fatal(err)
	}
	ok := 0
	const tries = 40
	for i := 0; i < tries; i++ {
		c, err := net.DialTimeout("tcp", h1.Addr+port, 200*time.Millisecond)
		if err == nil {
			ok++
			c.Close()
		}
	}
	t.Logf("%d of %d connections through a 50%% lossy link", ok, tries)
	if ok == 0 || ok == tries {
		t.Fatalf("%d of %d connections through a 50%% lossy link", ok, tries)
	}
	if err := n.Lossy(cl, h1, 0); err == nil {
		t.Fatal("a loss of 0% was accepted")
	}
	n.HealAll()
	if !reaches(t, cl, h1) {
		t.Fatal("no connection after healing the lossy link")
	}
}

// New deletes what a killed run left (namespaces and root veths named
// after a process that is gone), refuses a subnet in use and picks
// another free one when none is asked for.
func TestNetnsStaleAndBusySubnet(t *testing.T) {
	Require(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	pid := gone.Process.Pid
	ns := fmt.Sprintf("rillnet%dx1-br", pid)
	veth := fmt.Sprintf("rn%dx1", pid)
	if _, err := run("ip", "netns", "add", ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(ns) })
	if _, err := run("ip", "link", "add", veth, "type", "veth", "peer", "name", veth+"p"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run("ip", "link", "del", veth) })
	n := newNet(t, 1)
	if namespaceExists(ns) || linkExists(veth) {
		t.Fatalf("left by pid %d: namespace %v, veth %v", pid, namespaceExists(ns), linkExists(veth))
	}
	if _, err := New(Config{Subnet: n.Subnet(), Hosts: 1}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second network on a subnet in use: %v", err)
	}
	other, err := New(Config{Hosts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.Subnet() == n.Subnet() {
		t.Fatalf("two networks on subnet %s", n.Subnet())
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if namespaceExists(n.bridge) || namespaceExists(n.Host(1).Name) || linkExists(n.rootVeth) {
		t.Fatal("Close left namespaces or the root veth")
	}
}
