package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// proxy forwards 127.0.0.1:<its port> to target, as a load balancer or a
// container's port mapping would: the broker behind it must advertise the
// proxy's address. conns counts the connections it forwarded.
type proxy struct {
	ln    net.Listener
	addr  string
	mu    sync.Mutex
	conns int
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var open sync.Map
	t.Cleanup(func() {
		ln.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns++
			p.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.DialTimeout("tcp", target, 2*time.Second)
				if err != nil {
					return
				}
				defer u.Close()
				open.Store(c, true)
				open.Store(u, true)
				defer open.Delete(c)
				defer open.Delete(u)
				done := make(chan struct{}, 2)
				go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(c, u); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return p
}

func (p *proxy) forwarded() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// serveArgs starts `rill serve` with args (no --listen).
func serveArgs(t *testing.T, dir string, args ...string) *broker {
	t.Helper()
	return startBrokerCmd(t, exec.Command(rillBin, append([]string{"serve", "--data-dir", dir}, args...)...))
}

// metadataBrokers are the broker addresses Metadata gives a client seeded
// with addr, by node id.
func metadataBrokers(t *testing.T, addr string) map[int32]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := kadm.NewClient(client(t, addr)).BrokerMetadata(ctx)
	if err != nil {
		t.Fatalf("metadata from %s: %v", addr, err)
	}
	out := map[int32]string{}
	for _, b := range m.Brokers {
		out[b.NodeID] = net.JoinHostPort(b.Host, fmt.Sprint(b.Port))
	}
	return out
}

// describedBrokers are the broker addresses DescribeCluster gives.
func describedBrokers(t *testing.T, addr string) map[int32]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, client(t, addr))
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("describe cluster from %s: %v %v", addr, err, resp)
	}
	out := map[int32]string{}
	for _, b := range resp.Brokers {
		out[b.NodeID] = net.JoinHostPort(b.Host, fmt.Sprint(b.Port))
	}
	return out
}

// coordinatorAddr is where FindCoordinator, asked through addr, sends a
// group.
func coordinatorAddr(t *testing.T, addr, group string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl := client(t, addr)
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = group
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && resp.ErrorCode == 0 {
			return net.JoinHostPort(resp.Host, fmt.Sprint(resp.Port))
		}
		if ctx.Err() != nil {
			t.Fatalf("find coordinator through %s: %v %+v", addr, err, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// produceConsume writes n records through a client seeded with addr and
// reads them back through one seeded with readAddr, in a group; opts
// (SASL, TLS, producer settings) go to both clients.
func produceConsume(t *testing.T, addr, readAddr, topic string, n int, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A delivery timeout: kgo retries a buffered record for ever otherwise,
	// past ctx (an acks=all produce whose ISR never forms, say).
	prod := client(t, addr, append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(25 * time.Second)}, opts...)...)
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", topic, i))).FirstErr(); err != nil {
			t.Fatalf("produce %d through %s: %v", i, addr, err)
		}
	}
	cons := client(t, readAddr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumerGroup("g-" + topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d through %s", len(seen), n, readAddr)
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s-%d: %v", topic, p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit through %s: %v", readAddr, err)
	}
}

// Two listeners on one node: each client is told its own listener's
// address (Metadata, DescribeCluster, FindCoordinator), and produces and
// consumes through it.
func TestTwoListeners(t *testing.T) {
	internal, external := freePort(t), freePort(t)
	b := serveArgs(t, t.TempDir(), "--set", "listeners=INTERNAL://"+internal+",EXTERNAL://"+external,
		"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT", "--set", "inter.broker.listener.name=INTERNAL")
	for _, addr := range []string{internal, external} {
		if got := metadataBrokers(t, addr); len(got) != 1 || got[1] != addr {
			t.Fatalf("metadata through %s: brokers %v\n%s", addr, got, b.log())
		}
		if got := describedBrokers(t, addr); len(got) != 1 || got[1] != addr {
			t.Fatalf("describe cluster through %s: brokers %v", addr, got)
		}
		if got := coordinatorAddr(t, addr, "g"); got != addr {
			t.Fatalf("coordinator through %s: %s", addr, got)
		}
	}
	produceConsume(t, internal, external, "via-internal", 50)
	produceConsume(t, external, internal, "via-external", 50)
	b.stop()
}

// advertised.listeners differs from the bind address: clients reach the
// broker through a proxy on another port and are told the proxy's
// address, so every connection goes through it.
func TestAdvertisedListenerBehindProxy(t *testing.T) {
	bind := freePort(t)
	p := startProxy(t, bind)
	b := serveArgs(t, t.TempDir(), "--set", "listeners=PLAINTEXT://"+bind, "--set", "advertised.listeners=PLAINTEXT://"+p.addr)
	if got := metadataBrokers(t, p.addr); len(got) != 1 || got[1] != p.addr {
		t.Fatalf("metadata through the proxy: brokers %v, want %s\n%s", got, p.addr, b.log())
	}
	if got := coordinatorAddr(t, p.addr, "g"); got != p.addr {
		t.Fatalf("coordinator: %s, want %s", got, p.addr)
	}
	before := p.forwarded()
	produceConsume(t, p.addr, p.addr, "proxied", 50)
	if p.forwarded() <= before {
		t.Fatal("the clients did not go through the proxy")
	}
	b.stop()
}

// Five brokers (three controller quorum members and two broker-only
// nodes) with two listeners each: replication and the controller quorum
// run on INTERNAL and CONTROLLER, clients use EXTERNAL through one proxy
// per broker that forwards another port, each broker advertising its
// proxy. acks=all produce and a group consume work, and clients are only
// ever told the proxies' addresses.
func TestClusterListenersBehindProxies(t *testing.T) {
	const n = 5
	var internal, external, ctl []string
	var proxies []*proxy
	for i := 0; i < n; i++ {
		internal, external, ctl = append(internal, freePort(t)), append(external, freePort(t)), append(ctl, freePort(t))
		proxies = append(proxies, startProxy(t, external[i]))
	}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ctl[0], ctl[1], ctl[2])
	var bs []*broker
	for i := 0; i < n; i++ {
		roles, listen := "broker,controller", fmt.Sprintf("listeners=INTERNAL://%s,EXTERNAL://%s,CONTROLLER://%s", internal[i], external[i], ctl[i])
		if i >= 3 {
			roles, listen = "broker", fmt.Sprintf("listeners=INTERNAL://%s,EXTERNAL://%s", internal[i], external[i])
		}
		bs = append(bs, serveArgs(t, t.TempDir(), "--set", fmt.Sprintf("node.id=%d", i+1),
			"--set", "process.roles="+roles, "--set", "controller.quorum.voters="+voters, "--set", listen,
			"--set", "advertised.listeners=EXTERNAL://"+proxies[i].addr,
			"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"--set", "inter.broker.listener.name=INTERNAL", "--set", "controller.listener.names=CONTROLLER",
			"--set", "min.insync.replicas=2", "--set", "default.replication.factor=3", "--set", "offsets.topic.replication.factor=3"))
	}
	logs := func() string {
		var s strings.Builder
		for i, b := range bs {
			fmt.Fprintf(&s, "--- node %d\n%s", i+1, b.log())
		}
		return s.String()
	}
	wantExternal, wantInternal := map[int32]string{}, map[int32]string{}
	for i := 0; i < n; i++ {
		wantExternal[int32(i+1)], wantInternal[int32(i+1)] = proxies[i].addr, internal[i]
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ext, in := metadataBrokers(t, proxies[0].addr), metadataBrokers(t, internal[1])
		if fmt.Sprint(ext) == fmt.Sprint(wantExternal) && fmt.Sprint(in) == fmt.Sprint(wantInternal) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata: external %v (want %v), internal %v (want %v)\n%s", ext, wantExternal, in, wantInternal, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := describedBrokers(t, proxies[2].addr); fmt.Sprint(got) != fmt.Sprint(wantExternal) {
		t.Fatalf("describe cluster through a proxy: %v", got)
	}
	ctx := context.Background()
	adm := kadm.NewClient(client(t, proxies[1].addr))
	if res, err := adm.CreateTopic(ctx, n, 3, nil, "replicated"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	coord := coordinatorAddr(t, proxies[0].addr, "g-replicated")
	var proxyAddrs []string
	for _, p := range proxies {
		proxyAddrs = append(proxyAddrs, p.addr)
	}
	if !slices.Contains(proxyAddrs, coord) {
		t.Fatalf("coordinator through a proxy: %s", coord)
	}
	produceConsume(t, proxies[0].addr, proxies[4].addr, "replicated", 200, kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	// Every partition in sync on all three: the followers fetched over
	// INTERNAL (the EXTERNAL addresses are proxies only clients use).
	td, err := kadm.NewClient(client(t, internal[0])).ListTopics(ctx, "replicated")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range td["replicated"].Partitions {
		if len(p.ISR) != 3 {
			t.Fatalf("partition %d: ISR %v\n%s", p.Partition, p.ISR, logs())
		}
	}
	for i, b := range bs[:3] {
		if !strings.Contains(b.log(), `msg="controller quorum member listening" component=controller node=`+fmt.Sprint(i+1)+" addr="+ctl[i]) {
			t.Fatalf("node %d: the controller did not bind its CONTROLLER listener %s\n%s", i+1, ctl[i], b.log())
		}
	}
	for _, b := range bs {
		b.stop()
	}
}

// Bad listener settings stop rill serve at start-up with a clear error.
func TestListenerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no port", []string{"listeners=PLAINTEXT://127.0.0.1"}, `"PLAINTEXT://127.0.0.1" is not NAME://host:port`},
		{"no name", []string{"listeners=127.0.0.1:1,PLAINTEXT://127.0.0.1:2"}, `is not NAME://host:port`},
		{"duplicate names", []string{"listeners=PLAINTEXT://127.0.0.1:0,plaintext://127.0.0.1:0"}, "PLAINTEXT appears twice"},
		{"unknown protocol", []string{"listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:TLS"}, `unknown security protocol "TLS"`},
		{"unmapped listener", []string{"listeners=INTERNAL://127.0.0.1:0"}, "listener INTERNAL has no security protocol"},
		{"advertised for an unknown listener", []string{"listeners=PLAINTEXT://127.0.0.1:0", "advertised.listeners=EXTERNAL://example.com:9092"},
			"EXTERNAL is not a listener"},
		{"every interface, not advertised", []string{"listeners=PLAINTEXT://0.0.0.0:0"}, "binds every interface"},
		{"SSL without a key store", []string{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"}, "listener SSL (SSL): tlsconf: ssl.keystore.location: an SSL listener needs a key store"},
		{"SSL key store unreadable", []string{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "listener.name.ssl.ssl.keystore.location=/nonexistent"}, "cannot read the key store"},
		{"JKS key store", []string{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.type=JKS", "ssl.keystore.location=/x.jks"}, "keytool -importkeystore"},
		{"inter-broker SASL without credentials", []string{"listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:SASL_PLAINTEXT", "sasl.enabled.mechanisms=PLAIN",
			"sasl.mechanism.inter.broker.protocol=PLAIN", `listener.name.a.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_x="y";`}, "inter-broker listener A (SASL_PLAINTEXT)"},
		{"SASL without mechanisms", []string{"listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:SASL_PLAINTEXT"},
			"listener A (SASL_PLAINTEXT): set sasl.enabled.mechanisms"},
		{"SASL GSSAPI", []string{"listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:SASL_PLAINTEXT", "sasl.enabled.mechanisms=GSSAPI"},
			`unsupported mechanism "GSSAPI"`},
		{"PLAIN without users", []string{"listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:SASL_PLAINTEXT", "sasl.enabled.mechanisms=PLAIN"},
			"listener A enables PLAIN without users"},
		{"bad JAAS", []string{"listeners=A://127.0.0.1:0", "listener.security.protocol.map=A:SASL_PLAINTEXT", "sasl.enabled.mechanisms=PLAIN",
			"listener.name.a.plain.sasl.jaas.config=PlainLoginModule required user_x=1;"}, "listener.name.a.plain.sasl.jaas.config"},
		{"controller listener on a broker-only node", []string{"listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
			"controller.listener.names=CONTROLLER"}, "broker-only node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"serve", "--data-dir", t.TempDir()}
			for _, a := range tc.args {
				args = append(args, "--set", a)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, rillBin, args...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("rill serve %v: %v, want a non-zero exit\n%s", tc.args, err, out)
			}
			if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "panic") || strings.Contains(string(out), "listening on") {
				t.Fatalf("rill serve %v: output\n%s\nwant an error containing %q", tc.args, out, tc.want)
			}
		})
	}
}
