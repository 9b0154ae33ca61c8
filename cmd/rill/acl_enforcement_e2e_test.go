package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/rillmq/rill/internal/testcerts"
)

// ACLs enforced on real clients: a broker with StandardAuthorizer, a
// SASL_PLAINTEXT listener (alice, bob, admin) and an SSL listener whose
// client certificates map to short principals (ssl.principal.mapping.rules).
// With ACLs created through the admin, alice may write and read "orders"
// in group "billing" only; bob may do nothing; the certificate CN=carol
// is User:carol and may read "orders". Every refusal is Kafka's error
// code, and topics bob may not describe are not listed to him.
func TestACLEnforcement(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	server := ca.MustServer(t, "broker")
	admin, saslAddr, sslAddr := freePort(t), freePort(t), freePort(t)
	args := append([]string{
		"--set", "listeners=ADMIN://" + admin + ",SASL://" + saslAddr + ",TLS://" + sslAddr,
		"--set", "listener.security.protocol.map=ADMIN:SASL_PLAINTEXT,SASL:SASL_PLAINTEXT,TLS:SSL",
		"--set", "inter.broker.listener.name=ADMIN",
		"--set", "sasl.enabled.mechanisms=PLAIN", "--set", "sasl.mechanism.inter.broker.protocol=PLAIN",
		"--set", `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";`,
		"--set", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"--set", "super.users=User:admin",
		"--set", "listener.name.tls.ssl.client.auth=required",
		"--set", `listener.name.tls.ssl.principal.mapping.rules=RULE:^CN=([^,]*).*$/$1/L,DEFAULT`,
	}, listenerSets("TLS", ca.ServerProps(server, testcerts.PEMFiles))...)
	b := serveArgs(t, t.TempDir(), args...)
	as := func(user string, opts ...kgo.Opt) []kgo.Opt {
		return append([]kgo.Opt{kgo.SASL(plain.Auth{User: user, Pass: user + "-secret"}.AsMechanism())}, opts...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, admin, as("admin")...))
	for _, topic := range []string{"orders", "secret"} {
		if res, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil || res.Err != nil {
			t.Fatalf("admin creates %s: %v %v\n%s", topic, err, res.Err, b.log())
		}
	}
	acls := []*kadm.ACLBuilder{
		kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpWrite, kadm.OpRead, kadm.OpDescribe),
		kadm.NewACLs().Allow("User:alice").Groups("billing").Operations(kadm.OpRead),
		kadm.NewACLs().Allow("User:carol").Topics("orders").Operations(kadm.OpRead),
		kadm.NewACLs().Allow("User:carol").Groups("carol-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpRead),
	}
	for _, a := range acls {
		res, err := adm.CreateACLs(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("create ACL %+v: %v", r, r.Err)
			}
		}
	}

	// alice writes orders (idempotent: WRITE on a topic grants it, KIP-679)
	// and reads it back in billing.
	produceConsumeIn(t, saslAddr, "orders", "billing", 20, as("alice")...)
	// alice may not write secret, nor read orders in another group.
	expectErr(t, "alice produces to secret", kerr.TopicAuthorizationFailed, func() error {
		return client(t, saslAddr, as("alice", kgo.DefaultProduceTopic("secret"))...).ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
	})
	expectErr(t, "alice joins group other", kerr.GroupAuthorizationFailed, func() error {
		_, err := kadm.NewClient(client(t, saslAddr, as("alice")...)).CommitOffsets(ctx, "other", kadm.Offsets{"orders": {0: {At: 0}}})
		return err
	})
	expectErr(t, "alice opens a transaction", kerr.TransactionalIDAuthorizationFailed, func() error {
		cl := client(t, saslAddr, as("alice", kgo.TransactionalID("alice-tx"), kgo.DefaultProduceTopic("orders"))...)
		if err := cl.BeginTransaction(); err != nil {
			return err
		}
		return cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
	})
	// bob sees no topic and may not write one.
	md, err := kadm.NewClient(client(t, saslAddr, as("bob")...)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := md.Names(); len(names) != 0 {
		t.Fatalf("bob is shown topics %v", names)
	}
	expectErr(t, "bob produces to orders", kerr.TopicAuthorizationFailed, func() error {
		return client(t, saslAddr, as("bob", kgo.DefaultProduceTopic("orders"))...).ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
	})
	expectErr(t, "bob creates ACLs", kerr.ClusterAuthorizationFailed, func() error {
		res, err := kadm.NewClient(client(t, saslAddr, as("bob")...)).CreateACLs(ctx, kadm.NewACLs().Allow("User:bob").Topics("orders").Operations(kadm.OpAll))
		if err != nil {
			return err
		}
		return res[0].Err
	})

	// carol's certificate is User:carol through the mapping rule: she
	// reads orders in a group of hers, and may not write it.
	carol := clientOpts(t, ca.ClientProps(ca.MustClient(t, "carol"), testcerts.PEMFiles))
	consumeIn(t, sslAddr, "orders", "carol-reader", 20, carol...)
	// An idempotent producer needs IDEMPOTENT_WRITE or WRITE on some
	// topic before it writes anything (KIP-679); a plain one is refused
	// per topic.
	expectErr(t, "carol's idempotent producer", kerr.ClusterAuthorizationFailed, func() error {
		return client(t, sslAddr, append(carol, kgo.DefaultProduceTopic("orders"))...).ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
	})
	expectErr(t, "carol produces to orders", kerr.TopicAuthorizationFailed, func() error {
		return client(t, sslAddr, append(carol, kgo.DefaultProduceTopic("orders"), kgo.DisableIdempotentWrite())...).ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
	})
	b.stop()
}

// expectErr fails unless f's error is want.
func expectErr(t *testing.T, what string, want error, f func() error) {
	t.Helper()
	if err := f(); !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// produceConsumeIn writes n records to topic and reads them back in group.
func produceConsumeIn(t *testing.T, addr, topic, group string, n int, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prod := client(t, addr, append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.RecordDeliveryTimeout(20 * time.Second)}, opts...)...)
	for i := 0; i < n; i++ {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", topic, i))).FirstErr(); err != nil {
			t.Fatalf("produce %d to %s: %v", i, topic, err)
		}
	}
	consumeIn(t, addr, topic, group, n, opts...)
}

// consumeIn reads n records of topic in group and commits them.
func consumeIn(t *testing.T, addr, topic, group string, n int, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons := client(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s in %s", len(seen), n, topic, group)
		}
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s in %s: %v", topic, group, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit in %s: %v", group, err)
	}
}
