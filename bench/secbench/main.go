// Command secbench measures what TLS and SASL cost a `rill serve`
// (BENCHMARKS.md, "Security: TLS and SASL"). It starts one broker with
// four listeners on 127.0.0.1 — PLAINTEXT, SSL, SASL_PLAINTEXT and
// SASL_SSL, the SASL ones taking SCRAM-SHA-512 and PLAIN — with an ECDSA
// P-256 certificate from internal/testcerts, and a SCRAM-SHA-512 user of
// 8192 iterations. Then:
//
//   - throughput: per run and listener, `rill bench produce` of -records
//     1 KiB records into a fresh 4-partition topic, then `rill bench
//     consume` of the same records from the start, then the topic is
//     deleted. The listeners take turns within a run, each run starting
//     one listener later (ABCD, BCDA, ...), after one warm-up run of each
//     that is not counted (-warmup). Around each command it reads the
//     broker's utime+stime from /proc/<pid>/stat and its read and write
//     system calls from /proc/<pid>/io, takes the client's CPU from the
//     finished `rill bench` process, and the rest of the machine's busy
//     and steal time from /proc/stat (a disturbed run shows there).
//   - connection setup: -conns kgo clients one after another, each
//     dialing, authenticating and asking one Metadata before closing, per
//     listener and mechanism, the modes taking turns over -conn-rounds
//     rounds; wall time, the broker's CPU and this process's (the
//     client's) CPU per connection.
//
// It prints every command it runs, each run and the medians, and with
// -json writes every run. -only and -conn-modes narrow the listeners and
// modes (with -cpuprofile, to profile one of them). -limits measures the
// machine's AES-128-GCM and loopback TLS rates instead.
//
// Usage: go run ./bench/secbench -rill /tmp/rill [-runs 7] [-records 1000000] [-conns 200] [-conn-rounds 5] [-json FILE]
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/bench"
	"github.com/rillmq/rill/internal/clientconf"
	"github.com/rillmq/rill/internal/testcerts"
)

const (
	scramUser  = "bench"
	scramPass  = "bench-scram-secret"
	plainPass  = "bench-plain-secret"
	iterations = 8192
	clkTck     = 100 // sysconf(_SC_CLK_TCK) on Linux
)

// listener is one of the broker's listeners.
type listener struct {
	Name, Protocol, Addr string
}

// mode is a way of connecting: a listener and a mechanism, with the
// client properties file that says so ("" for PLAINTEXT).
type mode struct {
	Name     string
	Listener listener
	Props    string
}

// throughputRun is one produce and consume of one listener.
type throughputRun struct {
	Run      int          `json:"run"`
	Listener string       `json:"listener"`
	Produce  bench.Result `json:"produce"`
	Consume  bench.Result `json:"consume"`
	// Broker and client CPU seconds (user+system) during each command.
	// OtherCPU is what the rest of the machine used meanwhile (all
	// cores' busy time from /proc/stat less broker and client), Steal
	// the hypervisor's steal time: both show a disturbed run.
	ProduceOtherCPU float64 `json:"produce_other_cpu_s"`
	ProduceSteal    float64 `json:"produce_steal_s"`
	ConsumeOtherCPU float64 `json:"consume_other_cpu_s"`
	ConsumeSteal    float64 `json:"consume_steal_s"`
	// The broker's read and write system calls (syscr, syscw of
	// /proc/<pid>/io: socket and file alike).
	ProduceSyscalls  [2]int64 `json:"produce_broker_syscalls_rw"`
	ConsumeSyscalls  [2]int64 `json:"consume_broker_syscalls_rw"`
	ProduceBrokerCPU float64  `json:"produce_broker_cpu_s"`
	ProduceClientCPU float64  `json:"produce_client_cpu_s"`
	ConsumeBrokerCPU float64  `json:"consume_broker_cpu_s"`
	ConsumeClientCPU float64  `json:"consume_client_cpu_s"`
}

// connRound is -conns connections of one mode.
type connRound struct {
	Round       int       `json:"round"`
	Mode        string    `json:"mode"`
	Conns       int       `json:"conns"`
	WallSeconds float64   `json:"wall_s"`
	BrokerCPU   float64   `json:"broker_cpu_s"`
	ClientCPU   float64   `json:"client_cpu_s"`
	PerConnMs   []float64 `json:"per_conn_ms"`
}

type tlsInfo struct {
	Listener, Version, CipherSuite, KeyExchange, ServerKey string
}

type report struct {
	Start      time.Time       `json:"start"`
	GoVersion  string          `json:"go_version"`
	Args       []string        `json:"args"`
	Serve      []string        `json:"serve"`
	TLS        []tlsInfo       `json:"tls"`
	Throughput []throughputRun `json:"throughput"`
	Conns      []connRound     `json:"connections"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "secbench:", err)
		os.Exit(1)
	}
}

func run() error {
	rillBin := flag.String("rill", "bin/rill", "the rill binary")
	runs := flag.Int("runs", 7, "throughput runs per listener")
	records := flag.Int("records", 1_000_000, "1 KiB records per produce and consume")
	conns := flag.Int("conns", 200, "connections per connection-setup round")
	connRounds := flag.Int("conn-rounds", 5, "connection-setup rounds per mode")
	jsonOut := flag.String("json", "", "write every run as JSON to this file")
	only := flag.String("only", "", "comma-separated listener names to run throughput on (default: all)")
	connModes := flag.String("conn-modes", "", "comma-separated modes to time connection setup on (default: all)")
	cpuprofile := flag.String("cpuprofile", "", "pass --cpuprofile FILE to rill serve")
	keep := flag.Bool("keep", false, "keep the work directory")
	limits := flag.Bool("limits", false, "measure the machine's AES-128-GCM and loopback TLS limits instead (medians of -runs)")
	warmup := flag.Bool("warmup", true, "first one produce and consume per listener, not counted")
	flag.Parse()
	bin, err := filepath.Abs(*rillBin)
	if err != nil {
		return err
	}
	rep := report{Start: time.Now().UTC(), GoVersion: runtime.Version(), Args: os.Args[1:]}
	if *limits {
		return runLimits(*runs)
	}

	dir, err := os.MkdirTemp("", "secbench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	fmt.Printf("# work directory $DIR = %s\n", dir)
	certDir := filepath.Join(dir, "certs")
	if err := os.Mkdir(certDir, 0o755); err != nil {
		return err
	}
	ca, err := testcerts.Generate(certDir, testcerts.Options{})
	if err != nil {
		return err
	}
	server, err := ca.Server("broker")
	if err != nil {
		return err
	}

	ls := []listener{{Name: "PLAINTEXT", Protocol: "PLAINTEXT"}, {Name: "SSL", Protocol: "SSL"},
		{Name: "SASL_PLAINTEXT", Protocol: "SASL_PLAINTEXT"}, {Name: "SASL_SSL", Protocol: "SASL_SSL"}}
	var specs, protos []string
	for i := range ls {
		if ls[i].Addr, err = freePort(); err != nil {
			return err
		}
		specs = append(specs, ls[i].Name+"://"+ls[i].Addr)
		protos = append(protos, ls[i].Name+":"+ls[i].Protocol)
	}
	args := []string{"serve", "--data-dir", filepath.Join(dir, "data"),
		"--set", "listeners=" + strings.Join(specs, ","),
		"--set", "listener.security.protocol.map=" + strings.Join(protos, ","),
		"--set", "inter.broker.listener.name=PLAINTEXT", "--set", "admin.listeners="}
	if *cpuprofile != "" {
		args = append(args, "--cpuprofile", *cpuprofile)
	}
	for _, l := range []string{"sasl_plaintext", "sasl_ssl"} {
		args = append(args, "--set", "listener.name."+l+".sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
			"--set", "listener.name."+l+`.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_`+scramUser+`="`+plainPass+`";`)
	}
	serverProps := ca.ServerProps(server, testcerts.PEMFiles)
	var keys []string
	for k := range serverProps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, l := range []string{"ssl", "sasl_ssl"} {
		for _, k := range keys {
			args = append(args, "--set", "listener.name."+l+"."+k+"="+serverProps[k])
		}
	}
	rep.Serve = args
	fmt.Printf("# broker: %s\n", shell(bin, args, dir))
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	serve := exec.Command(bin, args...)
	serve.Stdout = logf
	// Started once it logged every listener (its stderr goes on to the
	// log file).
	if _, err := bench.Serve(serve, logf, len(ls), 20*time.Second); err != nil {
		return fmt.Errorf("%w (log in %s)", err, logf.Name())
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			serve.Process.Kill()
			<-done
		}
	}()
	pid := serve.Process.Pid
	ctx := context.Background()
	admin, err := kgo.NewClient(kgo.SeedBrokers(ls[0].Addr))
	if err != nil {
		return err
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)

	user := []string{"user", "create", "--bootstrap", ls[0].Addr, "--user", scramUser, "--password", scramPass,
		"--mechanism", "SCRAM-SHA-512", "--iterations", strconv.Itoa(iterations)}
	fmt.Printf("# %s\n", shell(bin, user, dir))
	if out, err := exec.Command(bin, user...).CombinedOutput(); err != nil {
		return fmt.Errorf("rill user create: %v\n%s", err, out)
	}

	// Client properties, one file per mode.
	write := func(name string, p map[string]string) (string, error) {
		var b strings.Builder
		var ks []string
		for k := range p {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		for _, k := range ks {
			fmt.Fprintf(&b, "%s=%s\n", k, p[k])
		}
		path := filepath.Join(dir, name+".properties")
		return path, os.WriteFile(path, []byte(b.String()), 0o600)
	}
	scramJAAS := fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, scramUser, scramPass)
	plainJAAS := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required username="%s" password="%s";`, scramUser, plainPass)
	sslProps := ca.ClientProps(nil, testcerts.PEMFiles)
	saslProps := func(proto, mech, jaas string) map[string]string {
		p := map[string]string{}
		if proto == "SASL_SSL" {
			p = ca.ClientProps(nil, testcerts.PEMFiles)
		}
		p["security.protocol"], p["sasl.mechanism"], p["sasl.jaas.config"] = proto, mech, jaas
		return p
	}
	modes := []mode{{Name: "PLAINTEXT", Listener: ls[0]}}
	for _, m := range []struct {
		name string
		l    listener
		p    map[string]string
	}{
		{"SSL", ls[1], sslProps},
		{"SASL_PLAINTEXT/SCRAM-SHA-512", ls[2], saslProps("SASL_PLAINTEXT", "SCRAM-SHA-512", scramJAAS)},
		{"SASL_SSL/SCRAM-SHA-512", ls[3], saslProps("SASL_SSL", "SCRAM-SHA-512", scramJAAS)},
		{"SASL_PLAINTEXT/PLAIN", ls[2], saslProps("SASL_PLAINTEXT", "PLAIN", plainJAAS)},
		{"SASL_SSL/PLAIN", ls[3], saslProps("SASL_SSL", "PLAIN", plainJAAS)},
	} {
		path, err := write(strings.ReplaceAll(strings.ToLower(m.name), "/", "-"), m.p)
		if err != nil {
			return err
		}
		modes = append(modes, mode{Name: m.name, Listener: m.l, Props: path})
	}
	for _, m := range modes[1:] {
		data, _ := os.ReadFile(m.Props)
		fmt.Printf("# $DIR/%s:\n%s", filepath.Base(m.Props), indent(strings.ReplaceAll(string(data), dir, "$DIR")))
	}

	// rill user create returns once the broker has applied the credential
	// (AlterUserScramCredentials waits for its metadata offset), so the
	// SCRAM user authenticates at once.
	if _, err := connect(ctx, modes[3]); err != nil {
		return fmt.Errorf("SCRAM login after rill user create: %w", err)
	}

	// What TLS negotiates.
	for _, m := range []mode{modes[1], modes[3]} {
		info, err := negotiated(m)
		if err != nil {
			return err
		}
		rep.TLS = append(rep.TLS, info)
		fmt.Printf("# TLS on %s: %s, %s, key exchange %s, server key %s\n", info.Listener, info.Version, info.CipherSuite, info.KeyExchange, info.ServerKey)
	}

	// Throughput: modes[0:4] are the four listeners with SCRAM on SASL.
	tput := modes[:4]
	if *only != "" {
		want := strings.Split(*only, ",")
		tput = slices.DeleteFunc(slices.Clone(tput), func(m mode) bool { return !slices.Contains(want, m.Listener.Name) })
	}
	first := 0
	if *warmup {
		first = -1
	}
	for r := first; r < *runs; r++ {
		for i := range tput {
			m := tput[(i+max(r, 0))%len(tput)]
			topic := fmt.Sprintf("sec-%s-%d", strings.ToLower(m.Listener.Name), r+1)
			tr := throughputRun{Run: r + 1, Listener: m.Listener.Name}
			var err error
			tr.Produce, tr.ProduceBrokerCPU, tr.ProduceClientCPU, tr.ProduceOtherCPU, tr.ProduceSteal, tr.ProduceSyscalls, err = benchCmd(bin, dir, pid, m, "produce", topic, *records)
			if err != nil {
				return err
			}
			tr.Consume, tr.ConsumeBrokerCPU, tr.ConsumeClientCPU, tr.ConsumeOtherCPU, tr.ConsumeSteal, tr.ConsumeSyscalls, err = benchCmd(bin, dir, pid, m, "consume", topic, *records)
			if err != nil {
				return err
			}
			if _, err := adm.DeleteTopics(ctx, topic); err != nil {
				return fmt.Errorf("deleting %s: %w", topic, err)
			}
			if r < 0 {
				fmt.Printf("warm-up %s: produce %.1f MB/s, consume %.1f MB/s (not counted)\n", tr.Listener, tr.Produce.MBPerSec, tr.Consume.MBPerSec)
				continue
			}
			rep.Throughput = append(rep.Throughput, tr)
			fmt.Printf("run %d %-15s broker syscalls: produce %d reads %d writes, consume %d reads %d writes\n", tr.Run, tr.Listener,
				tr.ProduceSyscalls[0], tr.ProduceSyscalls[1], tr.ConsumeSyscalls[0], tr.ConsumeSyscalls[1])
			fmt.Printf("run %d %-15s produce %8.0f rec/s %6.1f MB/s broker %.2f s client %.2f s other %.2f s steal %.2f s | consume %8.0f rec/s %6.1f MB/s broker %.2f s client %.2f s other %.2f s steal %.2f s\n",
				tr.Run, tr.Listener, tr.Produce.RecordsPerSec, tr.Produce.MBPerSec, tr.ProduceBrokerCPU, tr.ProduceClientCPU, tr.ProduceOtherCPU, tr.ProduceSteal,
				tr.Consume.RecordsPerSec, tr.Consume.MBPerSec, tr.ConsumeBrokerCPU, tr.ConsumeClientCPU, tr.ConsumeOtherCPU, tr.ConsumeSteal)
		}
	}

	// Connection setup.
	cmodes := modes
	if *connModes != "" {
		want := strings.Split(*connModes, ",")
		cmodes = slices.DeleteFunc(slices.Clone(cmodes), func(m mode) bool { return !slices.Contains(want, m.Name) })
	}
	for r := 0; r < *connRounds && len(cmodes) > 0; r++ {
		for i := range cmodes {
			m := cmodes[(i+r)%len(cmodes)]
			cr, err := connectRound(ctx, pid, m, *conns)
			if err != nil {
				return err
			}
			cr.Round = r + 1
			rep.Conns = append(rep.Conns, cr)
			fmt.Printf("conns round %d %-29s %d in %.3f s: %.2f ms/conn (median %.2f), broker CPU %.2f s, client CPU %.2f s\n",
				cr.Round, cr.Mode, cr.Conns, cr.WallSeconds, 1000*cr.WallSeconds/float64(cr.Conns), median(cr.PerConnMs), cr.BrokerCPU, cr.ClientCPU)
		}
	}

	summarize(os.Stdout, tput, cmodes, rep)
	if *jsonOut != "" {
		return bench.WriteJSON(*jsonOut, rep)
	}
	return nil
}

// benchCmd runs `rill bench produce|consume` on m and returns its result
// and the broker's and the client's CPU seconds over it.
func benchCmd(bin, dir string, pid int, m mode, workload, topic string, records int) (res bench.Result, broker, client, other, steal float64, sys [2]int64, err error) {
	out := filepath.Join(dir, "result.json")
	args := []string{"bench", workload, "--bootstrap", m.Listener.Addr, "--topic", topic, "--records", strconv.Itoa(records), "--timeout", "5m"}
	if workload == "produce" {
		args = append(args, "--record-size", "1024", "--partitions", "4")
	}
	if m.Props != "" {
		args = append(args, "--command-config", m.Props)
	}
	args = append(args, "--json", out)
	fmt.Printf("# %s\n", shell(bin, args, dir))
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	before, err := procCPU(pid)
	if err != nil {
		return
	}
	busy0, steal0 := machineCPU()
	io0 := procIO(pid)
	runErr := cmd.Run()
	io1 := procIO(pid)
	busy1, steal1 := machineCPU()
	sys = [2]int64{io1[0] - io0[0], io1[1] - io0[1]}
	after, err := procCPU(pid)
	if err != nil {
		return
	}
	if runErr != nil {
		err = fmt.Errorf("%s: %v\n%s", shell(bin, args, dir), runErr, stderr.String())
		return
	}
	broker = after - before
	client = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	other, steal = busy1-busy0-broker-client, steal1-steal0
	data, err := os.ReadFile(out)
	if err != nil {
		return
	}
	if err = json.Unmarshal(data, &res); err != nil {
		return
	}
	res.Timeline = nil
	return
}

// procIO is a process's read and write system calls so far (syscr and
// syscw in /proc/<pid>/io).
func procIO(pid int) (rw [2]int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return rw
	}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "syscr":
			rw[0] = n
		case "syscw":
			rw[1] = n
		}
	}
	return rw
}

// machineCPU is all cores' busy (user, nice, system, irq, softirq) and
// steal seconds from /proc/stat.
func machineCPU() (busy, steal float64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	v := func(i int) float64 {
		if i >= len(f) {
			return 0
		}
		x, _ := strconv.ParseFloat(f[i], 64)
		return x / clkTck
	}
	return v(1) + v(2) + v(3) + v(6) + v(7), v(8)
}

// connect opens one kgo client on m, asks one Metadata (which dials,
// does the TLS handshake and the SASL exchange first) and closes it.
func connect(ctx context.Context, m mode) (time.Duration, error) {
	var opts []kgo.Opt
	if m.Props != "" {
		cc, err := clientconf.Load(m.Props)
		if err != nil {
			return 0, err
		}
		opts = cc.KgoOpts()
	}
	opts = append(opts, kgo.SeedBrokers(m.Listener.Addr), kgo.RequestRetries(0))
	start := time.Now()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cl.Request(rctx, kmsg.NewPtrMetadataRequest())
	if err != nil {
		return 0, err
	}
	if len(resp.(*kmsg.MetadataResponse).Brokers) == 0 {
		return 0, errors.New("metadata without brokers")
	}
	return time.Since(start), nil
}

// connectRound opens n connections of m one after another. The client
// properties are parsed before each round, not per connection.
func connectRound(ctx context.Context, pid int, m mode, n int) (connRound, error) {
	cr := connRound{Mode: m.Name, Conns: n}
	var opts []kgo.Opt
	if m.Props != "" {
		cc, err := clientconf.Load(m.Props)
		if err != nil {
			return cr, err
		}
		opts = cc.KgoOpts()
	}
	opts = append(opts, kgo.SeedBrokers(m.Listener.Addr), kgo.RequestRetries(0))
	runtime.GC()
	b0, err := procCPU(pid)
	if err != nil {
		return cr, err
	}
	c0 := selfCPU()
	start := time.Now()
	for i := 0; i < n; i++ {
		t := time.Now()
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return cr, err
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = cl.Request(rctx, kmsg.NewPtrMetadataRequest())
		cancel()
		cl.Close()
		if err != nil {
			return cr, fmt.Errorf("%s connection %d: %w", m.Name, i, err)
		}
		cr.PerConnMs = append(cr.PerConnMs, float64(time.Since(t).Microseconds())/1000)
	}
	cr.WallSeconds = time.Since(start).Seconds()
	cr.ClientCPU = selfCPU() - c0
	b1, err := procCPU(pid)
	if err != nil {
		return cr, err
	}
	cr.BrokerCPU = b1 - b0
	return cr, nil
}

// negotiated is what a handshake with m's TLS settings agrees on.
func negotiated(m mode) (tlsInfo, error) {
	cc, err := clientconf.Load(m.Props)
	if err != nil {
		return tlsInfo{}, err
	}
	cfg := cc.TLS().Clone()
	cfg.ServerName = "127.0.0.1"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", m.Listener.Addr, cfg)
	if err != nil {
		return tlsInfo{}, err
	}
	defer c.Close()
	st := c.ConnectionState()
	key := fmt.Sprintf("%T", st.PeerCertificates[0].PublicKey)
	if st.PeerCertificates[0].PublicKeyAlgorithm.String() == "ECDSA" {
		key = "ECDSA " + st.PeerCertificates[0].SignatureAlgorithm.String()
	}
	return tlsInfo{Listener: m.Listener.Name, Version: tls.VersionName(st.Version), CipherSuite: tls.CipherSuiteName(st.CipherSuite),
		KeyExchange: st.CurveID.String(), ServerKey: key}, nil
}

// runLimits prints medians of runs measurements of what TLS can do on this
// machine with Go's crypto/tls: sealing and opening 16 KiB records with
// AES-128-GCM on one goroutine (TLS_AES_128_GCM_SHA256's cipher), and one
// TLS 1.3 connection over loopback, 1 MiB writes one way, beside the
// same over plain TCP.
func runLimits(runs int) error {
	dir, err := os.MkdirTemp("", "secbench-limits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ca, err := testcerts.Generate(dir, testcerts.Options{})
	if err != nil {
		return err
	}
	server, err := ca.Server("broker")
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	srv := &tls.Config{Certificates: []tls.Certificate{server.TLS}}
	cli := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	names := []string{"AES-128-GCM seal, 16 KiB records, one goroutine", "AES-128-GCM open, 16 KiB records, one goroutine",
		"loopback TCP, 1 MiB writes, one connection", "loopback TLS 1.3, 1 MiB writes, one connection"}
	results := make([][]float64, len(names))
	for r := 0; r < runs; r++ {
		seal, open, err := aeadRate(time.Second)
		if err != nil {
			return err
		}
		tcp, err := loopbackRate(nil, nil, 2*time.Second)
		if err != nil {
			return err
		}
		tlsRate, err := loopbackRate(srv, cli, 2*time.Second)
		if err != nil {
			return err
		}
		for i, v := range []float64{seal, open, tcp, tlsRate} {
			results[i] = append(results[i], v)
			fmt.Printf("run %d %-50s %8.1f MB/s\n", r+1, names[i], v)
		}
	}
	fmt.Printf("\nmedians of %d runs\n", runs)
	for i, n := range names {
		fmt.Printf("%-50s %8.1f MB/s\n", n, median(results[i]))
	}
	return nil
}

// aeadRate is AES-128-GCM's seal and open rate in MB/s over 16 KiB
// records, each for d.
func aeadRate(d time.Duration) (seal, open float64, err error) {
	key := make([]byte, 16)
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, 0, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return 0, 0, err
	}
	nonce := make([]byte, aead.NonceSize())
	plain := make([]byte, 16<<10)
	sealed := aead.Seal(nil, nonce, plain, nil)
	buf := make([]byte, 0, len(sealed))
	for range 100 { // warm up
		buf = aead.Seal(buf[:0], nonce, plain, nil)
	}
	var n int
	start := time.Now()
	for n = 0; time.Since(start) < d; n++ {
		buf = aead.Seal(buf[:0], nonce, plain, nil)
	}
	seal = float64(n*len(plain)) / 1e6 / time.Since(start).Seconds()
	out := make([]byte, 0, len(plain))
	start = time.Now()
	for n = 0; time.Since(start) < d; n++ {
		if out, err = aead.Open(out[:0], nonce, sealed, nil); err != nil {
			return 0, 0, err
		}
	}
	open = float64(n*len(plain)) / 1e6 / time.Since(start).Seconds()
	return seal, open, nil
}

// loopbackRate is MB/s of 1 MiB writes over one 127.0.0.1 connection for
// d, read and discarded by the other end; TLS when srv and cli are set.
func loopbackRate(srv, cli *tls.Config, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- 0
			return
		}
		if srv != nil {
			c = tls.Server(c, srv)
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	var c net.Conn
	if cli != nil {
		c, err = tls.Dial("tcp", ln.Addr().String(), cli)
	} else {
		c, err = net.Dial("tcp", ln.Addr().String())
	}
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for time.Since(start) < d {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, err
		}
	}
	c.Close()
	n := <-got
	return float64(n) / 1e6 / time.Since(start).Seconds(), nil
}

// procCPU is a process's user+system CPU seconds (bench.ProcessCPU).
func procCPU(pid int) (float64, error) {
	d, err := bench.ProcessCPU(pid)
	return d.Seconds(), err
}

// selfCPU is this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func summarize(w io.Writer, tput, modes []mode, rep report) {
	type row struct{ recs, mbs, bcpu, ccpu float64 }
	med := func(name string, produce bool) row {
		var recs, mbs, bcpu, ccpu []float64
		for _, t := range rep.Throughput {
			if t.Listener != name {
				continue
			}
			r, b, c := t.Consume, t.ConsumeBrokerCPU, t.ConsumeClientCPU
			if produce {
				r, b, c = t.Produce, t.ProduceBrokerCPU, t.ProduceClientCPU
			}
			gb := float64(r.Bytes) / 1e9
			recs, mbs, bcpu, ccpu = append(recs, r.RecordsPerSec), append(mbs, r.MBPerSec), append(bcpu, b/gb), append(ccpu, c/gb)
		}
		return row{median(recs), median(mbs), median(bcpu), median(ccpu)}
	}
	if len(tput) > 0 {
		fmt.Fprintf(w, "\nmedians of %d runs\n", len(rep.Throughput)/len(tput))
		fmt.Fprintf(w, "%-15s %-8s %10s %8s %8s %14s %14s\n", "listener", "workload", "rec/s", "MB/s", "vs PT", "broker CPU s/GB", "client CPU s/GB")
		for _, produce := range []bool{true, false} {
			wl := "consume"
			if produce {
				wl = "produce"
			}
			base := med(tput[0].Listener.Name, produce)
			for _, m := range tput {
				r := med(m.Listener.Name, produce)
				fmt.Fprintf(w, "%-15s %-8s %10.0f %8.1f %7.2fx %14.2f %14.2f\n", m.Listener.Name, wl, r.recs, r.mbs, r.mbs/base.mbs, r.bcpu, r.ccpu)
			}
		}
	}
	if len(rep.Conns) > 0 {
		fmt.Fprintf(w, "\nconnection setup: medians over rounds; broker CPU over all rounds\n")
		fmt.Fprintf(w, "%-29s %12s %14s %16s %16s\n", "mode", "ms/conn", "p50 ms/conn", "broker CPU ms/conn", "client CPU ms/conn")
		for _, m := range modes {
			var wall, p50, ccpu []float64
			var bcpu float64
			n := 0
			for _, c := range rep.Conns {
				if c.Mode != m.Name {
					continue
				}
				wall, p50, ccpu = append(wall, 1000*c.WallSeconds/float64(c.Conns)), append(p50, median(c.PerConnMs)), append(ccpu, 1000*c.ClientCPU/float64(c.Conns))
				bcpu += c.BrokerCPU
				n += c.Conns
			}
			fmt.Fprintf(w, "%-29s %12.2f %14.2f %16.3f %16.2f\n", m.Name, median(wall), median(p50), 1000*bcpu/float64(n), median(ccpu))
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// shell is a command line with the work directory as "$DIR", quoted
// for a POSIX shell.
func shell(bin string, args []string, dir string) string {
	q := []string{bin}
	for _, a := range args {
		if !strings.ContainsAny(a, " \"';$*&|<>()") && !strings.Contains(a, dir) {
			q = append(q, a)
			continue
		}
		parts := strings.Split(a, dir)
		for i, p := range parts {
			if p != "" {
				parts[i] = "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
			}
		}
		q = append(q, strings.Join(parts, `"$DIR"`))
	}
	return strings.Join(q, " ")
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("#   " + l + "\n")
	}
	return b.String()
}
