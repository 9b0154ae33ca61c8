package brokerconf

import (
	"strings"
	"testing"
)

// TestTableDefaults checks every key of the table: a default that its own
// validator accepts, a doc line, and a sorted, duplicate-free table.
func TestTableDefaults(t *testing.T) {
	for i, k := range Keys {
		if i > 0 && Keys[i-1].Name >= k.Name {
			t.Errorf("table not sorted at %s", k.Name)
		}
		if k.Doc == "" || strings.Contains(k.Doc, "\n") {
			t.Errorf("%s: want a one-line doc", k.Name)
		}
		if k.Type < Bool || k.Type > Password {
			t.Errorf("%s: no type", k.Name)
		}
		if k.NoDefault {
			if k.Default != "" {
				t.Errorf("%s: null default with a value %q", k.Name, k.Default)
			}
			continue
		}
		if _, err := k.Check(k.Default); err != nil {
			t.Errorf("%s: default %q refused by its own validator: %v", k.Name, k.Default, err)
		}
		for _, s := range k.Synonyms {
			if _, ok := byName[s]; !ok {
				t.Errorf("%s: synonym %s is not a key", k.Name, s)
			}
		}
	}
}

// TestCheckByType checks good and bad values of each type on table keys.
func TestCheckByType(t *testing.T) {
	for _, c := range []struct {
		key, value, want string // want "" is an error containing bad
		bad              string
	}{
		{"auto.create.topics.enable", "true", "true", ""},
		{"auto.create.topics.enable", " TRUE ", "true", ""},
		{"auto.create.topics.enable", "maybe", "", "not a boolean"},
		{"auto.create.topics.enable", "1", "", "not a boolean"},
		{"num.partitions", "3", "3", ""},
		{"num.partitions", "0", "", "outside [1,...]"},
		{"num.partitions", "abc", "", "not a number of type INT"},
		{"num.partitions", "2147483648", "", "not a number of type INT"},
		{"offsets.topic.replication.factor", "40000", "", "not a number of type SHORT"},
		{"log.index.mapped.max", "0", "0", ""},
		{"log.index.mapped.max", "16", "16", ""},
		{"log.index.mapped.max", "-1", "", "outside [0,...]"},
		{"log.retention.ms", "-1", "-1", ""},
		{"log.retention.ms", "-2", "", "outside"},
		{"log.retention.bytes", "9223372036854775807", "9223372036854775807", ""},
		{"quota.window.size.seconds", "3601", "", "outside [1,...,3600]"},
		{"log.cleaner.min.cleanable.ratio", "0.3", "0.3", ""},
		{"log.cleaner.min.cleanable.ratio", "1.5", "", "outside"},
		{"log.cleaner.min.cleanable.ratio", "half", "", "DOUBLE"},
		{"net.transport", "gnet", "gnet", ""},
		{"net.transport", "foo", "", `"foo" is not one of netconn, gnet`},
		{"log.cleanup.policy", "compact, delete", "compact, delete", ""},
		{"log.cleanup.policy", "compact,forever", "", `"forever" is not one of`},
		{"log.level", "debug", "debug", ""},
		{"log.level", "verbose", "", "not one of"},
		{"ssl.keystore.password", " secret ", "secret", ""},
		{"controller.quorum.voters", "1@a:1,2@b:2", "1@a:1,2@b:2", ""},
	} {
		k, ok := Lookup(c.key)
		if !ok {
			t.Fatalf("%s: not in the table", c.key)
		}
		got, err := k.Check(c.value)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s=%q: %v", c.key, c.value, err)
		case c.bad == "" && got != c.want:
			t.Errorf("%s=%q: stored %q, want %q", c.key, c.value, got, c.want)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s=%q: error %v, want one containing %q", c.key, c.value, err, c.bad)
		}
	}
}

func TestLookupPatterns(t *testing.T) {
	for name, want := range map[string]string{
		"listener.name.sasl_plaintext.sasl.enabled.mechanisms":                  "sasl.enabled.mechanisms",
		"listener.name.internal.plain.sasl.jaas.config":                         "sasl.jaas.config",
		"listener.name.internal.scram-sha-256.sasl.jaas.config":                 "sasl.jaas.config",
		"listener.name.external.oauthbearer.connections.max.reauth.ms":          "connections.max.reauth.ms",
		"listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class": "sasl.server.callback.handler.class",
		"listener.name.ssl.ssl.keystore.location":                               "ssl.keystore.location",
		"log.level.net":     "log.level",
		"log.level.replica": "log.level",
	} {
		k, ok := Lookup(name)
		if !ok || k.Name != want {
			t.Errorf("Lookup(%s) = %s, %v; want %s", name, k.Name, ok, want)
		}
	}
	for _, name := range []string{
		"listener.name.x.num.partitions", // not a per-listener key
		"listener.name.x.plain.ssl.keystore.location",
		"listener.name..sasl.enabled.mechanisms",
		"log.level.",
		"log.level.netserver", // not a logging component
		"foo",
	} {
		if k, ok := Lookup(name); ok {
			t.Errorf("Lookup(%s) = %s; want unknown", name, k.Name)
		}
	}
}

func TestSuggest(t *testing.T) {
	for name, want := range map[string]string{
		"num.partition":                          "num.partitions",
		"auto.create.topic.enable":               "auto.create.topics.enable",
		"log.retention.hour":                     "log.retention.hours",
		"listener.name.x.sasl.enabled.mechanism": "listener.name.x.sasl.enabled.mechanisms",
		"foo":                                    "",
		"completely.different.key.name.here":     "",
	} {
		if got := Suggest(name); got != want {
			t.Errorf("Suggest(%s) = %q, want %q", name, got, want)
		}
	}
}

// TestKafkaShippedConfigsAccepted: every key set by the server.properties
// files Apache Kafka ships (config/kraft/*.properties and the ZooKeeper
// era config/server.properties) is known, so such a file starts Rill.
func TestKafkaShippedConfigsAccepted(t *testing.T) {
	for _, name := range strings.Fields(`advertised.listeners broker.id controller.listener.names
		controller.quorum.bootstrap.servers controller.quorum.voters group.initial.rebalance.delay.ms
		inter.broker.listener.name listener.security.protocol.map listeners log.dirs
		log.retention.check.interval.ms log.retention.hours log.segment.bytes node.id num.io.threads
		num.network.threads num.partitions num.recovery.threads.per.data.dir
		offsets.topic.replication.factor process.roles share.coordinator.state.topic.min.isr
		share.coordinator.state.topic.replication.factor socket.receive.buffer.bytes
		socket.request.max.bytes socket.send.buffer.bytes transaction.state.log.min.isr
		transaction.state.log.replication.factor zookeeper.connect zookeeper.connection.timeout.ms`) {
		if _, ok := Lookup(name); !ok {
			t.Errorf("Kafka's shipped configs set %s, which is not in the table", name)
		}
	}
}
