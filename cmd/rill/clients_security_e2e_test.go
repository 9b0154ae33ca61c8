package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	kafkagosasl "github.com/segmentio/kafka-go/sasl"
	kafkagoscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/xdg-go/scram"

	"github.com/rillmq/rill/internal/testcerts"
)

// Real clients over Rill's secured listeners. One broker serves a
// PLAINTEXT listener (for the admin work of the test), a SASL_SSL
// listener taking SCRAM-SHA-512 (and PLAIN, for kcat: see below) and an
// SSL listener requiring client certificates; its key and trust stores
// are PKCS12 files. kgo (through
// the Kafka client properties clientconf reads), sarama, kafka-go, kcat
// (librdkafka) and kafkajs each create or get a topic, produce a few
// hundred keyed records over each secured listener and read them back in
// a consumer group, committing; every record is checked (partition,
// offset, key, value) and the group's commits must reach the end of the
// topic. Then wrong passwords (kcat, sarama), an unknown SCRAM user
// (sarama) and client certificates from an unknown CA (kcat, sarama) are
// refused, each with its broker log line, while clients connected before
// keep working and the listeners still serve.
//
// kcat and librdkafka before 2.6.1 (Debian's kcat 1.7.1 has librdkafka
// 2.0.2) send the client nonce twice in the SCRAM client-final-message
// (confluentinc/librdkafka#4895); Apache Kafka 3.8.1 to 3.9 accept that
// (the final nonce need only end with the server's), Kafka 4 and Rill
// refuse it as RFC 5802 says. kcat therefore uses SCRAM-SHA-512 when its
// login works, and otherwise, once its refusal is shown to be that nonce
// and nothing else, PLAIN on the same SASL_SSL listener.

const secRecords = 300 // per client and listener

// secPlainPass is alice's PLAIN password on the SASL_SSL listener, for a
// kcat whose SCRAM the broker refuses (see secKcatSASL).
const secPlainPass = "alice plain secret"

// secEndpoint is one secured listener and how each client reaches it.
type secEndpoint struct {
	name string // sasl_ssl or mtls
	addr string
	// kgoProps are Kafka client properties (clientconf).
	kgoProps map[string]string
	// tls is the Go TLS configuration of sarama and kafka-go.
	tls *tls.Config
	// user and pass are the SCRAM-SHA-512 credentials ("" on mtls).
	user, pass string
	// kcat are librdkafka -X settings; on sasl_ssl they are chosen by
	// secKcatSASL.
	kcat []string
	// kafkajs is the security JSON of kafkajs_security.js.
	kafkajs string
}

// secRecord is one record a client read.
type secRecord struct {
	partition int32
	offset    int64
	key, val  string
}

// secExpected is what a client produces to topic: "k<i%7>" ->
// "<topic>-<iiii>".
func secExpected(topic string, i int) (key, val string) {
	return fmt.Sprintf("k%d", i%7), fmt.Sprintf("%s-%04d", topic, i)
}

// secCheckRecords checks what a consumer read of a fresh topic that
// received secRecords records: every value once with its key (a record
// delivered twice at the same partition and offset is tolerated, as a
// group may redeliver), every partition's offsets 0..end without a gap,
// and each key's values in the order they were produced.
func secCheckRecords(t *testing.T, what, topic string, got []secRecord) {
	t.Helper()
	type pos struct {
		p int32
		o int64
	}
	byPos := map[pos]secRecord{}
	for _, r := range got {
		if prev, ok := byPos[pos{r.partition, r.offset}]; ok && prev != r {
			t.Fatalf("%s: partition %d offset %d read as %+v and as %+v", what, r.partition, r.offset, prev, r)
		}
		byPos[pos{r.partition, r.offset}] = r
	}
	distinct := make([]secRecord, 0, len(byPos))
	for _, r := range byPos {
		distinct = append(distinct, r)
	}
	slices.SortFunc(distinct, func(a, b secRecord) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		return int(a.offset - b.offset)
	})
	want := map[string]string{}
	for i := range secRecords {
		k, v := secExpected(topic, i)
		want[v] = k
	}
	seen := map[string]bool{}
	lastByKey := map[string]string{}
	next := map[int32]int64{}
	keyPartition := map[string]int32{}
	for _, r := range distinct {
		k, ok := want[r.val]
		switch {
		case !ok:
			t.Fatalf("%s: unexpected value %+v", what, r)
		case seen[r.val]:
			t.Fatalf("%s: value %s stored twice (again at partition %d offset %d)", what, r.val, r.partition, r.offset)
		case r.key != k:
			t.Fatalf("%s: %s has key %q, want %q", what, r.val, r.key, k)
		case r.offset != next[r.partition]:
			t.Fatalf("%s: partition %d: offset %d where %d was next", what, r.partition, r.offset, next[r.partition])
		case lastByKey[r.key] >= r.val:
			t.Fatalf("%s: key %s: %s after %s", what, r.key, r.val, lastByKey[r.key])
		}
		if p, ok := keyPartition[r.key]; ok && p != r.partition {
			t.Fatalf("%s: key %s in partitions %d and %d", what, r.key, p, r.partition)
		}
		keyPartition[r.key] = r.partition
		seen[r.val] = true
		lastByKey[r.key] = r.val
		next[r.partition]++
	}
	if len(seen) != secRecords {
		var missing []string
		for v := range want {
			if !seen[v] {
				missing = append(missing, v)
			}
		}
		slices.Sort(missing)
		t.Fatalf("%s: read %d of %d values; missing %v", what, len(seen), secRecords, missing)
	}
}

// secDistinct counts distinct values.
func secDistinct(rs []secRecord) int {
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.val] = true
	}
	return len(seen)
}

// secParseLines parses "partition offset key value" lines.
func secParseLines(t *testing.T, what string, out []byte) []secRecord {
	t.Helper()
	var rs []secRecord
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Fatalf("%s: line %q\n%s", what, l, out)
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: line %q", what, l)
		}
		rs = append(rs, secRecord{int32(p), o, f[2], f[3]})
	}
	return rs
}

func TestClientsSecurity(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	server := ca.MustServer(t, "broker")
	internal, saslSSL, mtls := freePort(t), freePort(t), freePort(t)
	args := []string{
		"--set", "listeners=INTERNAL://" + internal + ",SASL_SSL://" + saslSSL + ",MTLS://" + mtls,
		"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL",
		"--set", "inter.broker.listener.name=INTERNAL",
		"--set", "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
		"--set", `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="` + secPlainPass + `";`,
		"--set", "listener.name.mtls.ssl.client.auth=required",
	}
	args = append(args, groupBrokerFlags...)
	serverProps := ca.ServerProps(server, testcerts.PKCS12)
	args = append(args, listenerSets("SASL_SSL", serverProps)...)
	args = append(args, listenerSets("MTLS", serverProps)...)
	b := serveArgs(t, t.TempDir(), args...)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const user, pass = "alice", "alice scram secret"
	res, err := kadm.NewClient(client(t, internal)).AlterUserSCRAMs(ctx, nil,
		[]kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Iterations: 8192, Password: pass}})
	if err != nil || res.Error() != nil {
		t.Fatalf("creating the SCRAM user: %v %v", err, res.Error())
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	alice := ca.MustClient(t, "alice")

	saslProps := ca.ClientProps(nil, testcerts.PEMFiles)
	saslProps["security.protocol"] = "SASL_SSL"
	saslProps["sasl.mechanism"] = "SCRAM-SHA-512"
	saslProps["sasl.jaas.config"] = fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, user, pass)
	saslJS, _ := json.Marshal(map[string]any{"ca": ca.CertFile,
		"sasl": map[string]string{"mechanism": "scram-sha-512", "username": user, "password": pass}})
	mtlsJS, _ := json.Marshal(map[string]any{"ca": ca.CertFile, "cert": alice.CertFile, "key": alice.KeyFile})
	endpoints := []secEndpoint{
		{
			name: "sasl_ssl", addr: saslSSL, kgoProps: saslProps,
			tls:  &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			user: user, pass: pass,
			kafkajs: string(saslJS),
		},
		{
			name: "mtls", addr: mtls, kgoProps: ca.ClientProps(alice, testcerts.PKCS12),
			tls: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{alice.TLS}, MinVersion: tls.VersionTLS12},
			// kcat (OpenSSL) and kgo (clientconf) read alice's
			// PKCS12 key store; the others take her PEM files.
			kcat: []string{"-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + ca.CertFile,
				"-X", "ssl.keystore.location=" + alice.P12File, "-X", "ssl.keystore.password=" + testcerts.DefaultPassword},
			kafkajs: string(mtlsJS),
		},
	}

	clients := []struct {
		name string
		run  func(t *testing.T, env *secEnv, ep secEndpoint, topic, group string)
	}{
		{"kgo", secKgo},
		{"sarama", secSarama},
		{"kafka-go", secKafkaGo},
		{"kcat", secKcat},
		{"kafkajs", secKafkaJS},
	}
	env := &secEnv{b: b, internal: internal, ca: ca, endpoints: endpoints}
	for _, c := range clients {
		for _, ep := range endpoints {
			t.Run(c.name+"/"+ep.name, func(t *testing.T) {
				topic := strings.ReplaceAll("sec-"+c.name+"-"+ep.name, "_", "-")
				group := "g-" + topic
				start := time.Now()
				c.run(t, env, ep, topic, group)
				requireCommittedToEnd(t, internal, group)
				t.Logf("%s over %s: %d records produced and read back in %v", c.name, ep.name, secRecords, time.Since(start).Round(time.Millisecond))
			})
		}
	}

	t.Run("refused", func(t *testing.T) { secRefused(t, env) })
	b.stop()
}

// secEnv is what the subtests share.
type secEnv struct {
	b         *broker
	internal  string // the PLAINTEXT listener
	ca        *testcerts.Authority
	endpoints []secEndpoint // sasl_ssl, mtls
	// kcatSASL: kcat's settings on sasl_ssl once chosen, and the
	// mechanism they use.
	kcatSASL     []string
	kcatSASLMech string
}

// librdkafkaVersion is the version of kcat's librdkafka.
func librdkafkaVersion(t *testing.T) [3]int {
	t.Helper()
	out, _ := toolCommand(t, "kcat", "-V").CombinedOutput()
	m := regexp.MustCompile(`librdkafka (\d+)\.(\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no librdkafka version in kcat -V:\n%s", out)
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(string(m[i+1]))
	}
	return v
}

// secWaitLog waits until the broker log holds more than before lines
// with substr (the log is read asynchronously).
func secWaitLog(t *testing.T, b *broker, substr string, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(b.log(), substr) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("no new broker log line with %q:\n%s", substr, b.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secKcatSASL chooses kcat's settings on the SASL_SSL listener: SCRAM-
// SHA-512 if kcat logs in with it; otherwise, only if kcat's librdkafka
// is older than 2.6.1 and the broker refused it for the doubled client
// nonce, PLAIN.
func secKcatSASL(t *testing.T, env *secEnv) ([]string, string) {
	t.Helper()
	if env.kcatSASL != nil {
		return env.kcatSASL, env.kcatSASLMech
	}
	ep := env.endpoints[0]
	tlsArgs := []string{"-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + env.ca.CertFile}
	scramArgs := append(slices.Clone(tlsArgs), "-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "sasl.username="+ep.user, "-X", "sasl.password="+ep.pass)
	const nonceRefusal = "nonce received did not match nonce sent"
	before := strings.Count(env.b.log(), nonceRefusal)
	out, err := toolCommand(t, "kcat", append([]string{"-L", "-b", ep.addr, "-m", "3"}, scramArgs...)...).CombinedOutput()
	if err == nil {
		env.kcatSASL, env.kcatSASLMech = scramArgs, "SCRAM-SHA-512"
		return env.kcatSASL, env.kcatSASLMech
	}
	v := librdkafkaVersion(t)
	if v[0] > 2 || v[0] == 2 && (v[1] > 6 || v[1] == 6 && v[2] >= 1) {
		t.Fatalf("kcat (librdkafka %d.%d.%d) SCRAM-SHA-512 login: %v\n%s\n%s", v[0], v[1], v[2], err, out, env.b.log())
	}
	secWaitLog(t, env.b, nonceRefusal, before)
	t.Logf("kcat's librdkafka %d.%d.%d sends its client nonce twice in the SCRAM client-final-message (fixed in 2.6.1); "+
		"the broker refuses it as Kafka 4 does, so kcat goes over SASL_SSL with PLAIN", v[0], v[1], v[2])
	env.kcatSASL = append(slices.Clone(tlsArgs), "-X", "sasl.mechanisms=PLAIN",
		"-X", "sasl.username="+ep.user, "-X", "sasl.password="+secPlainPass)
	env.kcatSASLMech = "PLAIN"
	return env.kcatSASL, env.kcatSASLMech
}

// secKgo: kgo from Kafka client properties creates the topic, produces
// and reads back in a group.
func secKgo(t *testing.T, env *secEnv, ep secEndpoint, topic, group string) {
	b := env.b
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	opts := clientOpts(t, ep.kgoProps)
	cl := client(t, ep.addr, append(opts, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))...)
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("kgo create topic: %v %v\n%s", err, resp.Err, b.log())
	}
	var recs []*kgo.Record
	for i := range secRecords {
		k, v := secExpected(topic, i)
		recs = append(recs, &kgo.Record{Key: []byte(k), Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kgo produce: %v\n%s", err, b.log())
	}
	cons := client(t, ep.addr, append(opts, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())...)
	var got []secRecord
	for secDistinct(got) < secRecords {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("kgo read %d of %d\n%s", secDistinct(got), secRecords, b.log())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("kgo fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			got = append(got, secRecord{r.Partition, r.Offset, string(r.Key), string(r.Value)})
		})
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("kgo commit: %v", err)
	}
	secCheckRecords(t, "kgo", topic, got)
	cons.Close() // leaves the group
}

// saramaSCRAM is sarama's SCRAM client (sarama brings none) on
// xdg-go/scram, as sarama's own example does.
type saramaSCRAM struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *saramaSCRAM) Begin(user, pass, authzID string) error {
	c, err := s.hash.NewClient(user, pass, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *saramaSCRAM) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *saramaSCRAM) Done() bool                            { return s.conv.Done() }

// secSaramaConfig is sarama's configuration for ep, with a SCRAM password.
func secSaramaConfig(ep secEndpoint, tlsCfg *tls.Config, pass string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	cfg.ClientID = "rill-sarama-security"
	cfg.Net.TLS.Enable = true
	cfg.Net.TLS.Config = tlsCfg
	if ep.user != "" {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		cfg.Net.SASL.User = ep.user
		cfg.Net.SASL.Password = pass
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &saramaSCRAM{hash: scram.SHA512} }
	}
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	return cfg
}

// secSaramaHandler collects what a sarama group member reads.
type secSaramaHandler struct {
	mu  *sync.Mutex
	got *[]secRecord
}

func (secSaramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (secSaramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h secSaramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		*h.got = append(*h.got, secRecord{m.Partition, m.Offset, string(m.Key), string(m.Value)})
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

// secSarama: sarama's ClusterAdmin creates the topic, its SyncProducer
// sends the records as one batch of messages, and a ConsumerGroup reads
// them back, committing.
func secSarama(t *testing.T, env *secEnv, ep secEndpoint, topic, group string) {
	b := env.b
	cfg := secSaramaConfig(ep, ep.tls, ep.pass)
	addrs := []string{ep.addr}
	adm, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		t.Fatalf("sarama admin: %v\n%s", err, b.log())
	}
	if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("sarama create topic: %v", err)
	}
	adm.Close()
	p, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	var msgs []*sarama.ProducerMessage
	for i := range secRecords {
		k, v := secExpected(topic, i)
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(k), Value: sarama.StringEncoder(v)})
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("sarama produce: %v\n%s", err, b.log())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	cg, err := sarama.NewConsumerGroup(addrs, group, cfg)
	if err != nil {
		t.Fatalf("sarama consumer group: %v", err)
	}
	var mu sync.Mutex
	var got []secRecord
	h := secSaramaHandler{mu: &mu, got: &got}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	consumed := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				consumed <- err
				return
			}
		}
		consumed <- nil
	}()
	for {
		mu.Lock()
		n := secDistinct(got)
		mu.Unlock()
		if n >= secRecords {
			break
		}
		select {
		case err := <-consumed:
			t.Fatalf("sarama consume after %d: %v\n%s", n, err, b.log())
		case <-ctx.Done():
			t.Fatalf("sarama read %d of %d\n%s", n, secRecords, b.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Marked offsets are committed every 100 ms and when the group is
	// closed; TestClientsSecurity waits for them to reach the end.
	cancel()
	if err := <-consumed; err != nil {
		t.Fatal(err)
	}
	if err := cg.Close(); err != nil {
		t.Fatalf("sarama consumer group close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	secCheckRecords(t, "sarama", topic, got)
}

// secKafkaGoSASL is kafka-go's SCRAM-SHA-512 mechanism for ep (nil on
// mtls).
func secKafkaGoSASL(t *testing.T, ep secEndpoint) kafkagosasl.Mechanism {
	if ep.user == "" {
		return nil
	}
	m, err := kafkagoscram.Mechanism(kafkagoscram.SHA512, ep.user, ep.pass)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// secKafkaGo: kafka-go's Client creates the topic, its Writer produces
// (Transport with TLS and SASL) and its group Reader (Dialer with TLS and
// SASL) reads back, committing after each message.
func secKafkaGo(t *testing.T, env *secEnv, ep secEndpoint, topic, group string) {
	b := env.b
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	mech := secKafkaGoSASL(t, ep)
	transport := &kafkago.Transport{TLS: ep.tls, SASL: mech, ClientID: "rill-kafka-go-security"}
	defer transport.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(ep.addr), Transport: transport, Timeout: 15 * time.Second}
	created, err := cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{
		Topics: []kafkago.TopicConfig{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}},
	})
	if err != nil || created.Errors[topic] != nil {
		t.Fatalf("kafka-go create topic: %v %v\n%s", err, created, b.log())
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(ep.addr), Topic: topic, Balancer: &kafkago.Hash{}, Transport: transport,
		RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond, BatchSize: 100}
	var msgs []kafkago.Message
	for i := range secRecords {
		k, v := secExpected(topic, i)
		msgs = append(msgs, kafkago.Message{Key: []byte(k), Value: []byte(v)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("kafka-go write: %v\n%s", err, b.log())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: []string{ep.addr}, GroupID: group, Topic: topic,
		Dialer:  &kafkago.Dialer{Timeout: 10 * time.Second, TLS: ep.tls, SASLMechanism: mech, ClientID: "rill-kafka-go-security"},
		MaxWait: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, StartOffset: kafkago.FirstOffset,
	})
	var got []secRecord
	for secDistinct(got) < secRecords {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read after %d: %v\n%s", secDistinct(got), err, b.log())
		}
		got = append(got, secRecord{int32(m.Partition), m.Offset, string(m.Key), string(m.Value)})
	}
	if err := r.Close(); err != nil {
		t.Fatalf("kafka-go reader close: %v", err)
	}
	secCheckRecords(t, "kafka-go", topic, got)
}

// secKcat: the topic is made through the plaintext listener (kcat cannot
// create one); kcat produces keyed lines and its balanced consumer (-G)
// reads to the end of every partition and commits.
func secKcat(t *testing.T, env *secEnv, ep secEndpoint, topic, group string) {
	b := env.b
	requireTool(t, "kcat")
	if ep.kcat == nil {
		ep.kcat, _ = secKcatSASL(t, env)
	}
	createTopics(t, []string{env.internal}, 1, topic)
	var in strings.Builder
	for i := range secRecords {
		k, v := secExpected(topic, i)
		fmt.Fprintf(&in, "%s:%s\n", k, v)
	}
	produce := toolCommand(t, "kcat", append(append([]string{"-P", "-b", ep.addr, "-t", topic, "-K:"}, ep.kcat...),
		"-X", "topic.request.required.acks=-1")...)
	produce.Stdin = strings.NewReader(in.String())
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s\n%s", err, out, b.log())
	}
	consume := toolCommand(t, "kcat", append(append([]string{"-b", ep.addr, "-G", group, "-o", "beginning", "-e", "-q",
		"-f", "%p %o %k %s\n"}, ep.kcat...), "-X", "auto.commit.interval.ms=100", topic)...)
	var stderr strings.Builder
	consume.Stderr = &stderr
	out, err := consume.Output()
	if err != nil {
		t.Fatalf("kcat -G: %v\n%s\n%s\n%s", err, out, stderr.String(), b.log())
	}
	secCheckRecords(t, "kcat", topic, secParseLines(t, "kcat", out))
}

// secKafkaJS: kafkajs_security.js creates the topic, produces and reads
// back in a group.
func secKafkaJS(t *testing.T, env *secEnv, ep secEndpoint, topic, group string) {
	b := env.b
	script, _ := filepath.Abs("../../test/clients/kafkajs_security.js")
	requireTool(t, "node")
	requireTool(t, filepath.Join(filepath.Dir(script), "node_modules", "kafkajs"))
	cmd := toolCommand(t, "node", script, ep.addr, topic, group, strconv.Itoa(secRecords), ep.kafkajs)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kafkajs: %v\n%s\n%s\n%s", err, out, stderr.String(), b.log())
	}
	secCheckRecords(t, "kafkajs", topic, secParseLines(t, "kafkajs", out))
}

// secRefused: a wrong password (kcat with its mechanism, sarama with
// SCRAM-SHA-512), an unknown SCRAM user (sarama) and a client certificate
// from a CA the broker does not trust (kcat, sarama) are refused, each
// with its client's error and its broker log line; kgo clients connected
// over each secured listener before keep producing on their connections,
// and new clients still get in everywhere.
func secRefused(t *testing.T, env *secEnv) {
	b, internal := env.b, env.internal
	sasl, mtls := env.endpoints[0], env.endpoints[1]
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const bystanderTopic = "sec-refused-bystander"
	createTopics(t, []string{internal}, 1, bystanderTopic)
	var bystanders []*kgo.Client
	produced := 0
	bystand := func() {
		t.Helper()
		for _, cl := range bystanders {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("bystander-%d", produced))).FirstErr(); err != nil {
				t.Fatalf("a client connected before the refusals: %v\n%s", err, b.log())
			}
			produced++
		}
	}
	for _, ep := range env.endpoints {
		bystanders = append(bystanders, client(t, ep.addr, append(clientOpts(t, ep.kgoProps), kgo.DefaultProduceTopic(bystanderTopic))...))
	}
	bystand()

	// A client certificate issued by another CA, presented by clients
	// that trust the broker's CA.
	rogueCA := testcerts.New(t, testcerts.Options{})
	mallory := rogueCA.MustClient(t, "mallory")
	const unknownCA = "certificate signed by unknown authority"

	t.Run("kcat wrong password", func(t *testing.T) {
		requireTool(t, "kcat")
		args, mech := secKcatSASL(t, env)
		args = slices.Clone(args)
		for i, a := range args {
			if strings.HasPrefix(a, "sasl.password=") {
				args[i] = "sasl.password=wrong"
			}
		}
		logLine := "challenge proof invalid" // SCRAM: the proof of another password
		if mech == "PLAIN" {
			logLine = "Invalid username or password"
		}
		before := strings.Count(b.log(), logLine)
		out, err := toolCommand(t, "kcat", append([]string{"-L", "-b", sasl.addr, "-m", "2"}, args...)...).CombinedOutput()
		if err == nil {
			t.Fatalf("kcat with a wrong %s password listed metadata:\n%s", mech, out)
		}
		if !strings.Contains(string(out), "SASL authentication error: Authentication failed") {
			t.Fatalf("kcat with a wrong %s password: %v, want a SASL authentication error:\n%s", mech, err, out)
		}
		secWaitLog(t, b, logLine, before)
	})
	saramaRefused := func(t *testing.T, ep secEndpoint, tlsCfg *tls.Config, pass string) error {
		t.Helper()
		cfg := secSaramaConfig(ep, tlsCfg, pass)
		cfg.Metadata.Retry.Max = 0
		cl, err := sarama.NewClient([]string{ep.addr}, cfg)
		if err == nil {
			cl.Close()
			t.Fatalf("sarama connected to %s", ep.name)
		}
		return err
	}
	t.Run("sarama wrong SCRAM password", func(t *testing.T) {
		before := strings.Count(b.log(), "challenge proof invalid")
		if err := saramaRefused(t, sasl, sasl.tls, "wrong"); !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
			t.Fatalf("sarama with a wrong password: %v, want %v", err, sarama.ErrSASLAuthenticationFailed)
		}
		secWaitLog(t, b, "challenge proof invalid", before)
	})
	t.Run("sarama unknown SCRAM user", func(t *testing.T) {
		ep := sasl
		ep.user = "mallory"
		before := strings.Count(b.log(), "Invalid user credentials")
		if err := saramaRefused(t, ep, sasl.tls, sasl.pass); !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
			t.Fatalf("sarama as an unknown user: %v, want %v", err, sarama.ErrSASLAuthenticationFailed)
		}
		secWaitLog(t, b, "Invalid user credentials", before)
	})
	t.Run("kcat certificate from an unknown CA", func(t *testing.T) {
		requireTool(t, "kcat")
		before := strings.Count(b.log(), unknownCA)
		out, err := toolCommand(t, "kcat", "-L", "-b", mtls.addr, "-m", "2", "-X", "security.protocol=SSL",
			"-X", "ssl.ca.location="+env.ca.CertFile, "-X", "ssl.certificate.location="+mallory.CertFile,
			"-X", "ssl.key.location="+mallory.KeyFile).CombinedOutput()
		if err == nil {
			t.Fatalf("kcat with a certificate from an unknown CA listed metadata:\n%s", out)
		}
		if !strings.Contains(string(out), "alert unknown ca") {
			t.Fatalf("kcat with a certificate from an unknown CA: %v, want a TLS alert unknown ca:\n%s", err, out)
		}
		secWaitLog(t, b, unknownCA, before)
	})
	t.Run("sarama certificate from an unknown CA", func(t *testing.T) {
		// crypto/tls sends Certificates only when they chain to a CA the
		// server's CertificateRequest names; a client insisting on its
		// certificate sends it anyway.
		tlsCfg := mtls.tls.Clone()
		tlsCfg.Certificates = nil
		tlsCfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &mallory.TLS, nil }
		before := strings.Count(b.log(), unknownCA)
		err := saramaRefused(t, mtls, tlsCfg, "")
		if !strings.Contains(err.Error(), "unknown certificate authority") {
			t.Fatalf("sarama with a certificate from an unknown CA: %v, want a TLS alert unknown certificate authority", err)
		}
		secWaitLog(t, b, unknownCA, before)
	})

	// Nothing else was affected.
	bystand()
	for _, ep := range env.endpoints {
		produceConsume(t, ep.addr, ep.addr, "sec-after-refusals-"+strings.ReplaceAll(ep.name, "_", "-"), 20, clientOpts(t, ep.kgoProps)...)
	}
	produceConsume(t, internal, internal, "sec-after-refusals-plaintext", 20)
	got := consumeAll(t, internal, bystanderTopic, produced)
	vals := make([]string, len(got))
	for i, r := range got {
		vals[i] = r.val
	}
	requireSameValues(t, "bystanders' records", vals, fmtVals("bystander-%d", produced))
}
