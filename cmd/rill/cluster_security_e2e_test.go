package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/clientconf"
	"github.com/rillmq/rill/internal/testcerts"
	"github.com/rillmq/rill/replication/node"
	"github.com/rillmq/rill/replication/transport"
)

// Three nodes whose every link is SASL_SSL: the controller quorum and the
// brokers' controller connections (CONTROLLER, PLAIN), replication and
// the brokers' own requests (INTERNAL, PLAIN), clients (EXTERNAL,
// SCRAM-SHA-512 with a user created through the cluster). acks=all
// records written and read back, every partition in sync on all three
// (the followers fetched over SASL_SSL); a plaintext connection to a
// controller listener is refused and logged.
func TestClusterOverSASLSSL(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	server := ca.MustServer(t, "broker")
	serverProps := ca.ServerProps(server, testcerts.PEMFiles)
	const brokerJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_intruder="intruder-secret";`
	var internal, external, ctl []string
	for i := 0; i < 3; i++ {
		internal, external, ctl = append(internal, freePort(t)), append(external, freePort(t)), append(ctl, freePort(t))
	}
	voters := fmt.Sprintf("1@%s,2@%s,3@%s", ctl[0], ctl[1], ctl[2])
	var bs []*broker
	for i := 0; i < 3; i++ {
		args := []string{"--set", fmt.Sprintf("node.id=%d", i+1),
			"--set", "process.roles=broker,controller", "--set", "controller.quorum.voters=" + voters,
			"--set", fmt.Sprintf("listeners=INTERNAL://%s,EXTERNAL://%s,CONTROLLER://%s", internal[i], external[i], ctl[i]),
			"--set", "listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:SASL_SSL",
			"--set", "inter.broker.listener.name=INTERNAL", "--set", "controller.listener.names=CONTROLLER",
			"--set", "sasl.mechanism.inter.broker.protocol=PLAIN", "--set", "sasl.mechanism.controller.protocol=PLAIN",
			"--set", "listener.name.internal.sasl.enabled.mechanisms=PLAIN",
			"--set", "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
			"--set", "listener.name.internal.plain.sasl.jaas.config=" + brokerJAAS,
			"--set", "listener.name.controller.plain.sasl.jaas.config=" + brokerJAAS,
			"--set", "listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-512",
			"--set", "min.insync.replicas=2", "--set", "default.replication.factor=3", "--set", "offsets.topic.replication.factor=3",
			"--set", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer", "--set", "super.users=User:broker"}
		for _, l := range []string{"INTERNAL", "EXTERNAL", "CONTROLLER"} {
			args = append(args, listenerSets(l, serverProps)...)
		}
		bs = append(bs, serveArgs(t, t.TempDir(), args...))
	}
	logs := func() string {
		var s strings.Builder
		for i, b := range bs {
			fmt.Fprintf(&s, "--- node %d\n%s", i+1, b.log())
		}
		return s.String()
	}
	trust := ca.ClientProps(nil, testcerts.PEMFiles)
	asBroker := maps.Clone(trust)
	asBroker["security.protocol"], asBroker["sasl.mechanism"] = "SASL_SSL", "PLAIN"
	asBroker["sasl.jaas.config"] = `org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret";`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The cluster forms over SASL_SSL: every broker registered (asked
	// anew each time: kgo caches the Metadata answers a client gets).
	for {
		cl := client(t, internal[0], clientOpts(t, asBroker)...)
		md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
		cl.Close()
		if err == nil && len(md.Brokers) == 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the cluster did not form over SASL_SSL: %v %+v\n%s", err, md, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	adm := kadm.NewClient(client(t, internal[0], clientOpts(t, asBroker)...))
	if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "alice-secret"}}); err != nil {
		t.Fatal(err)
	}
	if res, err := adm.CreateTopic(ctx, 3, 3, nil, "secured"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v\n%s", err, res.Err, logs())
	}
	acl, err := adm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").Topics("secured").Groups("g-secured").Operations(kadm.OpAll))
	if err != nil || acl[0].Err != nil {
		t.Fatalf("ACLs for alice: %v %v", err, acl)
	}
	alice := maps.Clone(trust)
	alice["security.protocol"], alice["sasl.mechanism"] = "SASL_SSL", "SCRAM-SHA-512"
	alice["sasl.jaas.config"] = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`
	// The credential reaches every broker through the metadata log.
	for i := range external {
		for {
			err := client(t, external[i], clientOpts(t, alice)...).Ping(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("alice on node %d: %v\n%s", i+1, err, logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	produceConsume(t, external[0], external[2], "secured", 200, append(clientOpts(t, alice), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))...)
	td, err := adm.ListTopics(ctx, "secured")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range td["secured"].Partitions {
		if len(p.ISR) != 3 {
			t.Fatalf("partition %d: ISR %v\n%s", p.Partition, p.ISR, logs())
		}
	}
	// A principal the controller listener authenticates but that has no
	// CLUSTER_ACTION (not a super user) is refused before any request.
	intruder, err := clientconf.Parse(map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
		"sasl.jaas.config":    `org.apache.kafka.common.security.plain.PlainLoginModule required username="intruder" password="intruder-secret";`,
		"ssl.truststore.type": trust["ssl.truststore.type"], "ssl.truststore.location": trust["ssl.truststore.location"]})
	if err != nil {
		t.Fatal(err)
	}
	sec := transport.Security{ClientTLS: intruder.TLS(), Dial: func(ctx context.Context, call func([]byte) ([]byte, error)) error {
		return clientconf.Authenticate(ctx, intruder.SASL(), "", call)
	}}
	reg := kmsg.NewPtrBrokerHeartbeatRequest()
	if _, err := node.Ask(ctx, sec.Call, ctl[0], reg); err == nil {
		t.Fatal("a principal without CLUSTER_ACTION was answered on the controller listener")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(bs[0].log(), "User:intruder refused") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line refusing User:intruder\n%s", bs[0].log())
		}
		time.Sleep(50 * time.Millisecond)
	}

	c, err := net.Dial("tcp", ctl[1])
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0, 0, 0, 5, 1, 0, 0, 0, 0})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 64)); err == nil && n > 0 && !strings.Contains(bs[1].log(), `msg="closing controller connection`) {
		t.Fatalf("a plaintext connection to the controller listener was answered %d bytes", n)
	}
	c.Close()
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(bs[1].log(), `msg="closing controller connection`) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the plaintext connection to the controller listener\n%s", bs[1].log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, b := range bs {
		b.stop()
	}
}
