// Package netns builds a small network of Linux network namespaces for
// partition tests of real processes: hosts on one switch, a veth from the
// test's own (root) namespace so clients in the test process reach every
// host directly, and faults (cut, isolated and lossy links) switched on
// and off while the processes run.
//
//	root namespace (the test process)
//	  rn<pid>x<seq>  S.100/24 ──┐
//	                            │  bridge namespace <prefix>br
//	                           c0 ── br0 ── h1 ── eth0 S.1/24  host namespace <prefix>1
//	                                    └── h2 ── eth0 S.2/24  host namespace <prefix>2
//	                                    ...
//
// S is the network's subnet: three octets, the Config's or else the first
// of 10.213.0 to 10.213.255 that no address of the root namespace is in.
// Every address lives inside that /24; the root namespace gains one
// address on its own veth and the subnet's connected route, and nothing
// else: no default route, no firewall rule, no forwarding.
//
// Faults are nftables rules in the bridge namespace (a "bridge" family
// table filtering forwarded frames), so a cut link drops packets in
// transit: both ends see silence and time out, as in a real partition,
// rather than getting an error from their own firewall. ARP still passes,
// which is harmless: no traffic follows it.
//
// Usage contract: New sets the network up (root only, with ip and nft on
// PATH; Available says why not) and Close tears it down, killing whatever
// still runs in its namespaces. Names carry the creating process's pid,
// and New first deletes namespaces and veths left by processes that no
// longer exist (a test run killed before its clean-up), so a killed run
// never blocks the next one. Live networks, of this process or another,
// never share a subnet: New picks and takes one under a lock file
// (/run/rillnet.lock), and refuses a Config subnet already in use.
//
// A Net is safe for concurrent use.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// Config describes a network.
type Config struct {
	// Subnet is the first three octets of the /24 the network uses
	// ("10.213.0"): host i gets Subnet.i, the root namespace Subnet.100.
	// Empty: the first free one from 10.213.0.
	Subnet string
	// Hosts is the number of host namespaces (1 to 99).
	Hosts int
}

// Net is a running network; use New.
type Net struct {
	prefix   string // namespace name prefix, "rillnet<pid>x<seq>-"
	rootVeth string // the root namespace's end of the client veth
	bridge   string // bridge namespace name
	hosts    []*Host
	client   *Host

	mu     sync.Mutex
	faults []string // nft rules in the bridge's forward chain
	closed bool
}

// Host is one end of the network: a host namespace, or the root namespace
// the test process runs in (Net.Client).
type Host struct {
	// Name is the namespace's name ("" for the root namespace).
	Name string
	// Addr is the host's IPv4 address.
	Addr string
	// Index is 1 to Hosts for a host namespace, 0 for the client.
	Index int
}

func (h *Host) String() string {
	if h.Index == 0 {
		return "client " + h.Addr
	}
	return fmt.Sprintf("host %d (%s)", h.Index, h.Addr)
}

// Command returns a command that runs name with args inside the host's
// namespace (`ip netns exec`, which execs the program: the command's
// process is the program itself, so signals reach it directly). For the
// client it is a plain exec.Command.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return h.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command with a context that kills the process.
func (h *Host) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	if h.Name == "" {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
}

// Available reports why this machine cannot build a network (nil: it can).
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: needs root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("netns: %s is not installed (apt-get install iproute2 nftables)", tool)
		}
	}
	return nil
}

// Require skips the test when Available fails, except under CI (the CI
// environment variable set), where it fails it: CI installs what it needs
// and runs as root, so a skip there would hide that the tests never ran.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%v; CI must run the network tests (.ci/run installs nftables)", err)
	}
	t.Skip(err)
}

var seq atomic.Int64

// New builds a network as cfg says. On error nothing of it is left.
func New(cfg Config) (*Net, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if cfg.Hosts < 1 || cfg.Hosts > 99 {
		return nil, fmt.Errorf("netns: %d hosts, want 1 to 99", cfg.Hosts)
	}
	if cfg.Subnet != "" && !subnetRe.MatchString(cfg.Subnet) {
		return nil, fmt.Errorf("netns: subnet %q is not three octets like 10.213.0", cfg.Subnet)
	}
	// The lock covers choosing the subnet and taking it (the root veth's
	// address, in setUp), and the removal of stale networks.
	lock, err := os.OpenFile("/run/rillnet.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	defer lock.Close() // and so unlocked
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("netns: locking %s: %w", lock.Name(), err)
	}
	removeStale()
	subnet, err := pickSubnet(cfg.Subnet)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%dx%d", os.Getpid(), seq.Add(1))
	n := &Net{prefix: "rillnet" + id + "-", rootVeth: "rn" + id}
	n.bridge = n.prefix + "br"
	n.client = &Host{Addr: subnet + ".100"}
	for i := 1; i <= cfg.Hosts; i++ {
		n.hosts = append(n.hosts, &Host{Name: n.prefix + strconv.Itoa(i), Addr: fmt.Sprintf("%s.%d", subnet, i), Index: i})
	}
	if err := n.setUp(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

var subnetRe = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}$`)

// pickSubnet returns want if no address of the root namespace is in it,
// or with want empty the first such of 10.213.0 to 10.213.255.
func pickSubnet(want string) (string, error) {
	out, err := run("ip", "-4", "-o", "addr", "show")
	if err != nil {
		return "", err
	}
	inUse := func(s string) bool { return strings.Contains(out, " "+s+".") }
	if want != "" {
		if inUse(want) {
			return "", fmt.Errorf("netns: subnet %s.0/24 is already in use in the root namespace:\n%s", want, out)
		}
		return want, nil
	}
	for i := 0; i < 256; i++ {
		if s := fmt.Sprintf("10.213.%d", i); !inUse(s) {
			return s, nil
		}
	}
	return "", errors.New("netns: every subnet of 10.213.0.0/16 is in use in the root namespace")
}

// Subnet is the network's subnet, three octets.
func (n *Net) Subnet() string { return strings.TrimSuffix(n.client.Addr, ".100") }

func (n *Net) setUp() error {
	steps := [][]string{
		{"netns", "add", n.bridge},
		{"-n", n.bridge, "link", "set", "lo", "up"},
		{"-n", n.bridge, "link", "add", "br0", "type", "bridge"},
		{"-n", n.bridge, "link", "set", "br0", "up"},
		// The client veth is created with its peer already in the bridge
		// namespace, so a run killed here leaves nothing in the root
		// namespace once that namespace goes.
		{"link", "add", n.rootVeth, "type", "veth", "peer", "name", "c0", "netns", n.bridge},
		{"-n", n.bridge, "link", "set", "c0", "master", "br0"},
		{"-n", n.bridge, "link", "set", "c0", "up"},
		{"addr", "add", n.client.Addr + "/24", "dev", n.rootVeth},
		{"link", "set", n.rootVeth, "up"},
	}
	for _, h := range n.hosts {
		port := "h" + strconv.Itoa(h.Index)
		steps = append(steps,
			[]string{"netns", "add", h.Name},
			[]string{"-n", h.Name, "link", "set", "lo", "up"},
			[]string{"link", "add", "eth0", "netns", h.Name, "type", "veth", "peer", "name", port, "netns", n.bridge},
			[]string{"-n", n.bridge, "link", "set", port, "master", "br0"},
			[]string{"-n", n.bridge, "link", "set", port, "up"},
			[]string{"-n", h.Name, "addr", "add", h.Addr + "/24", "dev", "eth0"},
			[]string{"-n", h.Name, "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if _, err := run("ip", s...); err != nil {
			return err
		}
	}
	return n.apply(nil)
}

// Hosts returns the host namespaces, host i at index i-1.
func (n *Net) Hosts() []*Host { return n.hosts }

// Host returns host i (1 to Hosts).
func (n *Net) Host(i int) *Host { return n.hosts[i-1] }

// Client returns the root namespace's end: the address the test process's
// connections come from.
func (n *Net) Client() *Host { return n.client }

// Close kills every process left in the network's namespaces and deletes
// them (which deletes their veths, the root namespace's included). It is
// safe to call more than once.
func (n *Net) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	var errs []error
	for _, h := range n.hosts {
		errs = append(errs, deleteNamespace(h.Name))
	}
	errs = append(errs, deleteNamespace(n.bridge))
	if linkExists(n.rootVeth) {
		_, err := run("ip", "link", "del", n.rootVeth)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteNamespace kills the processes in a namespace and deletes it; a
// namespace that does not exist is not an error.
func deleteNamespace(name string) error {
	if !namespaceExists(name) {
		return nil
	}
	if out, err := run("ip", "netns", "pids", name); err == nil {
		for _, f := range strings.Fields(out) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_, err := run("ip", "netns", "del", name)
	return err
}

func namespaceExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

var (
	staleNamespace = regexp.MustCompile(`^rillnet(\d+)x\d+-`)
	staleVeth      = regexp.MustCompile(`^rn(\d+)x\d+$`)
)

// removeStale deletes the namespaces and root veths of networks whose
// creating process is gone.
func removeStale() {
	dead := func(pid string) bool {
		if pid == strconv.Itoa(os.Getpid()) {
			return false
		}
		_, err := os.Stat("/proc/" + pid)
		return errors.Is(err, os.ErrNotExist)
	}
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if m := staleNamespace.FindStringSubmatch(e.Name()); m != nil && dead(m[1]) {
				deleteNamespace(e.Name())
			}
		}
	}
	if entries, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range entries {
			if m := staleVeth.FindStringSubmatch(e.Name()); m != nil && dead(m[1]) {
				run("ip", "link", "del", e.Name())
			}
		}
	}
}

// run runs a command and returns its output, or an error with it.
func run(name string, args ...string) (string, error) {
	return runInput(nil, name, args...)
}

func runInput(stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netns: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}
