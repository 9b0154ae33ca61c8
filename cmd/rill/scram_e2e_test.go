package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SCRAM credentials made with kadm and with `rill user` live in the
// metadata log: listed with Kafka's per-user errors, checked by a
// SASL_PLAINTEXT listener when kgo clients log in, kept across a restart,
// and gone once deleted.
func TestScramUsers(t *testing.T) {
	internal, external := freePort(t), freePort(t)
	dir := t.TempDir()
	args := []string{
		"--set", "listeners=INTERNAL://" + internal + ",EXTERNAL://" + external,
		"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
		"--set", "inter.broker.listener.name=INTERNAL",
		"--set", "listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
	}
	b := serveArgs(t, dir, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, internal))
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-secret"}})
	if err != nil || res.Error() != nil {
		t.Fatalf("kadm upsert: %v %v", err, res.Error())
	}
	bs := "--bootstrap=" + internal
	if out := rill(t, "", "user", "create", bs, "--user", "bob", "--password", "bob secret", "--mechanism", "SCRAM-SHA-512"); !strings.Contains(out, "created SCRAM-SHA-512 credential of bob (8192 iterations)") {
		t.Fatalf("user create: %s", out)
	}
	rill(t, "carol-secret\n", "user", "create", bs, "--user", "carol", "--iterations", "16384")
	// Kafka's refusals, per user.
	res, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "nobody", Mechanism: kadm.ScramSha512}, {User: "alice", Mechanism: kadm.ScramSha256}},
		[]kadm.UpsertSCRAM{{User: "weak", Mechanism: kadm.ScramSha256, Iterations: 100, Salt: []byte("s"), SaltedPassword: []byte("p")},
			{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]error{"nobody": kerr.ResourceNotFound, "weak": kerr.UnacceptableCredential, "alice": kerr.DuplicateResource} {
		if !errors.Is(res[user].Err, want) {
			t.Errorf("%s: %v, want %v", user, res[user].Err, want)
		}
	}
	wantList := "alice\tSCRAM-SHA-256 iterations=4096\nbob\tSCRAM-SHA-512 iterations=8192\ncarol\tSCRAM-SHA-256 iterations=16384\n"
	if out := rill(t, "", "user", "list", bs); out != wantList {
		t.Fatalf("user list:\n%s\nwant:\n%s", out, wantList)
	}

	login := func(topic string, m scram.Auth, sha512 bool) {
		t.Helper()
		mech := m.AsSha256Mechanism()
		if sha512 {
			mech = m.AsSha512Mechanism()
		}
		produceConsume(t, external, external, topic, 5, kgo.SASL(mech))
	}
	refused := func(m scram.Auth) {
		t.Helper()
		bad := client(t, external, kgo.SASL(m.AsSha256Mechanism()), kgo.RequestRetries(0))
		if err := bad.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("%s: %v, want SASL_AUTHENTICATION_FAILED\n%s", m.User, err, b.log())
		}
	}
	login("scram-alice", scram.Auth{User: "alice", Pass: "alice-secret"}, false)
	login("scram-bob", scram.Auth{User: "bob", Pass: "bob secret"}, true)
	login("scram-carol", scram.Auth{User: "carol", Pass: "carol-secret"}, false)
	refused(scram.Auth{User: "alice", Pass: "wrong"})

	b.stop()
	b = serveArgs(t, dir, args...)
	// Logins wait until the restarted broker has its credentials back.
	login("scram-alice-again", scram.Auth{User: "alice", Pass: "alice-secret"}, false)
	if out := rill(t, "", "user", "list", bs); out != wantList {
		t.Fatalf("user list after a restart:\n%s", out)
	}
	if out := rill(t, "", "user", "delete", bs, "--user", "carol"); !strings.Contains(out, "deleted SCRAM-SHA-256 credential of carol") {
		t.Fatalf("user delete: %s", out)
	}
	if out := rill(t, "", "user", "list", bs); strings.Contains(out, "carol") {
		t.Fatalf("carol listed after her deletion:\n%s", out)
	}
	refused(scram.Auth{User: "carol", Pass: "carol-secret"})
	described, err := adm.DescribeUserSCRAMs(ctx, "carol")
	if err != nil || !errors.Is(described["carol"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describing a deleted user: %v %+v", err, described)
	}
	b.stop()
}
