package brokerconf

import (
	"strings"
	"testing"
)

func TestSetRefusesUnknownAndBadValues(t *testing.T) {
	s := NewSettings()
	err := s.Set("num.partiton", "3", FromFlag, "--set")
	if err == nil || !strings.Contains(err.Error(), `unknown broker config "num.partiton" (did you mean num.partitions?)`) || !strings.HasPrefix(err.Error(), "--set: ") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := s.Set("num.partitions", "0", FromFile, "server.properties:3"); err == nil || err.Error() != `server.properties:3: num.partitions: 0 is outside [1,...]` {
		t.Fatalf("bad value: %v", err)
	}
	if _, set := s.Lookup("num.partitions"); set {
		t.Fatal("a refused value was recorded")
	}
}

func TestSourcePrecedence(t *testing.T) {
	s := NewSettings()
	must(t, s.Set("num.partitions", "4", FromFlag, ""))
	must(t, s.Set("num.partitions", "2", FromFile, "")) // read later, ranks lower
	must(t, s.Set("log.retention.hours", "5", FromFile, ""))
	must(t, s.Set("log.retention.hours", "6", FromEnv, ""))
	if v, _ := s.Get("num.partitions"); v != "4" {
		t.Errorf("num.partitions = %s, want the --set 4", v)
	}
	if v, _ := s.Lookup("log.retention.hours"); v.Value != "6" || v.Source != FromEnv {
		t.Errorf("log.retention.hours = %+v, want 6 from env", v)
	}
	if v, ok := s.Get("default.replication.factor"); !ok || v != "1" {
		t.Errorf("default = %q, %v", v, ok)
	}
	if _, ok := s.Get("log.retention.ms"); ok {
		t.Error("a null default reads as set")
	}
}

func TestResolve(t *testing.T) {
	s := NewSettings()
	must(t, s.Set("broker.id", "3", FromFile, ""))
	must(t, s.Resolve())
	if v, _ := s.Get("node.id"); v != "3" {
		t.Errorf("broker.id did not set node.id: %s", v)
	}

	s = NewSettings()
	must(t, s.Set("broker.id", "3", FromFile, ""))
	must(t, s.Set("node.id", "4", FromFile, ""))
	if err := s.Resolve(); err == nil || !strings.Contains(err.Error(), "broker.id=3 and node.id=4 differ") {
		t.Errorf("differing ids: %v", err)
	}

	s = NewSettings()
	must(t, s.Set("controller.quorum.bootstrap.servers", "localhost:9093", FromFile, ""))
	if err := s.Resolve(); err == nil || !strings.Contains(err.Error(), "set controller.quorum.voters") {
		t.Errorf("bootstrap servers without voters: %v", err)
	}
	must(t, s.Set("controller.quorum.voters", "1@localhost:9093", FromFile, ""))
	must(t, s.Resolve())

	s = NewSettings()
	must(t, s.Set("log.dirs", "/a,/b", FromFile, ""))
	if err := s.Resolve(); err == nil || !strings.Contains(err.Error(), "JBOD is not supported yet: set one directory") {
		t.Errorf("two dirs: %v", err)
	}
	s = NewSettings()
	must(t, s.Set("log.dirs", " /a, ", FromFile, ""))
	must(t, s.Resolve())
	if v, _ := s.Get("log.dirs"); v != "/a" {
		t.Errorf("log.dirs = %q, want /a", v)
	}
}

func TestWarningsAndEffective(t *testing.T) {
	s := NewSettings()
	must(t, s.Set("num.io.threads", "16", FromFile, ""))
	must(t, s.Set("num.partitions", "2", FromFile, ""))
	must(t, s.Set("listener.name.a.plain.sasl.jaas.config", "x", FromFile, ""))
	w := s.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "num.io.threads=16") || !strings.Contains(w[0], "not implemented") {
		t.Errorf("warnings %q", w)
	}
	eff := s.Effective()
	if len(eff) != len(Keys)+1 {
		t.Fatalf("effective has %d entries, want every key and the pattern key", len(eff))
	}
	seen := map[string]Setting{}
	for _, e := range eff {
		seen[e.Name] = e
	}
	if e := seen["num.partitions"]; e.Value != "2" || e.Source != FromFile {
		t.Errorf("num.partitions %+v", e)
	}
	if e := seen["min.insync.replicas"]; e.Value != "1" || e.Source != FromDefault {
		t.Errorf("min.insync.replicas %+v", e)
	}
	if Display("listener.name.a.plain.sasl.jaas.config", "x") != "[hidden]" {
		t.Error("password shown")
	}
}

func TestEnvKey(t *testing.T) {
	for v, want := range map[string]string{
		"KAFKA_LOG_RETENTION_MS": "log.retention.ms",
		"KAFKA_IO__ENGINE":       "io_engine",
		"KAFKA_LISTENER_NAME_INTERNAL_SCRAM___SHA___256_SASL_JAAS_CONFIG": "listener.name.internal.scram-sha-256.sasl.jaas.config",
		"KAFKA_NODE_ID": "node.id",
	} {
		if got, ok := EnvKey(v); !ok || got != want {
			t.Errorf("EnvKey(%s) = %s, %v; want %s", v, got, ok, want)
		}
	}
	for _, v := range []string{"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_HOME", "KAFKA_", "PATH", "kafka_node_id"} {
		if got, ok := EnvKey(v); ok {
			t.Errorf("EnvKey(%s) = %s; want none", v, got)
		}
	}
	got := FromEnviron([]string{"PATH=/bin", "KAFKA_NUM_PARTITIONS=3", "KAFKA_HEAP_OPTS=-Xmx1g"})
	if len(got) != 1 || got[0].Key != "num.partitions" || got[0].Value != "3" {
		t.Errorf("FromEnviron = %+v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSetDataDirIsOnePath(t *testing.T) {
	s := NewSettings()
	must(t, s.Set("log.dirs", "/a,/b", FromFile, ""))
	must(t, s.SetDataDir("/tmp/x,y", FromFlag, "--data-dir"))
	must(t, s.Resolve())
	if v, _ := s.Get("log.dirs"); v != "/tmp/x,y" {
		t.Errorf("log.dirs = %q, want the flag's path unsplit", v)
	}
}
