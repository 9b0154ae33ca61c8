package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/brokerconf"
)

// runServeFails runs `rill serve args` expecting it to exit 1 on its own,
// and returns its output.
func runServeFails(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rillBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("rill serve %v: %v, want exit 1\n%s", args, err, out)
	}
	if strings.Contains(string(out), "panic") || strings.Contains(string(out), "listening on") {
		t.Fatalf("rill serve %v started or panicked:\n%s", args, out)
	}
	return string(out)
}

// TestConfigRefusedBeforeAnythingIsOpened: unknown keys (with a
// suggestion) and bad values stop rill serve with exit 1 before the data
// directory is created.
func TestConfigRefusedBeforeAnythingIsOpened(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"unknown keys", []string{"--set", "foo=bar", "--set", "num.partiton=3"}, nil,
			[]string{`unknown broker config "foo"`, `unknown broker config "num.partiton" (did you mean num.partitions?)`}},
		{"not a boolean", []string{"--set", "auto.create.topics.enable=maybe"}, nil, []string{`auto.create.topics.enable: "maybe" is not a boolean`}},
		{"out of range", []string{"--set", "num.partitions=0"}, nil, []string{"num.partitions: 0 is outside [1,...]"}},
		{"two log.dirs", nil, nil, []string{"JBOD is not supported yet: set one directory"}},
		{"broker.id and node.id differ", []string{"--set", "broker.id=3", "--set", "node.id=4"}, nil, []string{"broker.id=3 and node.id=4 differ"}},
		{"bad port", []string{"--listen", "127.0.0.1:99999"}, nil, []string{`port "99999" is not in [0, 65535]`}},
		{"unknown transport", []string{"--set", "net.transport=foo"}, nil, []string{`net.transport: "foo" is not one of netconn, gnet`}},
		{"bad env value", nil, []string{"KAFKA_LOG_RETENTION_MS=abc"},
			[]string{`environment variable KAFKA_LOG_RETENTION_MS: log.retention.ms: "abc" is not a number of type LONG`}},
		{"bad file line", nil, nil, []string{"server.properties:2: unknown broker config \"log.retention.hour\" (did you mean log.retention.hours?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--data-dir", dir}, tc.args...)
			if tc.name == "bad file line" {
				file := filepath.Join(t.TempDir(), "server.properties")
				if err := os.WriteFile(file, []byte("# a comment\nlog.retention.hour=3\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", file)
			}
			if tc.name == "two log.dirs" {
				// Not --data-dir, which would win over log.dirs.
				args = []string{"--set", "log.dirs=" + dir + "," + dir + "-b"}
			}
			out := runServeFails(t, tc.env, args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output\n%s\nwant %q", out, w)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("data directory %s exists after a refused start (%v)", dir, err)
			}
		})
	}
}

// TestConfigPortInUseFailsBeforeRecovery: the Kafka listener is bound
// before the data directory is locked or a log recovered, so a port in
// use fails the start at once and leaves the directory untouched.
func TestConfigPortInUseFailsBeforeRecovery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	start := time.Now()
	out := runServeFails(t, nil, "--data-dir", dir, "--listen", ln.Addr().String())
	if !strings.Contains(out, "address already in use") || strings.Contains(out, "storage engine open") {
		t.Fatalf("output\n%s\nwant address already in use before the storage engine opens", out)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory created before the listener was bound (%v)", err)
	}
	t.Logf("refused in %v", time.Since(start))
}

// TestServePrintConfigAndHelp: --print-config lists every key with its
// value and source (default < file < env < --set) and opens nothing; -h
// exits 0.
func TestServePrintConfigAndHelp(t *testing.T) {
	file := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(file, []byte("num.partitions=2\nlog.retention.hours=5\nmin.insync.replicas=2\nnum.io.threads=4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(rillBin, "serve", "--data-dir", dir, "--config", file,
		"--set", "min.insync.replicas=3", "--set", "ssl.keystore.password=secret", "--print-config")
	cmd.Env = append(os.Environ(), "KAFKA_LOG_RETENTION_HOURS=6", "KAFKA_MIN_INSYNC_REPLICAS=9")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("--print-config: %v\n%s", err, out)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		f := strings.Fields(line)
		rows[f[0]] = f[1:]
	}
	if len(rows) != len(brokerconf.Keys) {
		t.Errorf("%d rows, want one per table key (%d)", len(rows), len(brokerconf.Keys))
	}
	for key, want := range map[string]string{
		"num.partitions":             "2 file",
		"log.retention.hours":        "6 env",
		"min.insync.replicas":        "3 --set",
		"default.replication.factor": "1 default",
		"log.dirs":                   dir + " --set",
		"ssl.keystore.password":      "[hidden] --set",
		"num.io.threads":             "4 file (ignored by Rill)",
		"log.retention.ms":           "(unset) default",
	} {
		if got := strings.Join(rows[key], " "); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	if strings.Contains(string(out), "secret") {
		t.Error("a password was printed")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--print-config created the data directory (%v)", err)
	}
	// --env-config=false: the environment is not read.
	off := exec.Command(rillBin, "serve", "--env-config=false", "--print-config")
	off.Env = append(os.Environ(), "KAFKA_NUM_PARTITIONS=7", "KAFKA_NO_SUCH_KEY=1")
	if out, err := off.CombinedOutput(); err != nil || !regexp.MustCompile(`(?m)^num\.partitions +1 +default$`).Match(out) {
		t.Errorf("--env-config=false: %v\n%s", err, out)
	}
	help, err := exec.Command(rillBin, "serve", "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(help), "-print-config") {
		t.Errorf("serve -h: %v\n%s", err, help)
	}
}

// TestDescribeBrokerConfigsListsEveryKey: a broker started with defaults
// and a few settings lists every table key through kadm, defaults as
// DEFAULT_CONFIG, settings as STATIC_BROKER_CONFIG with their synonyms,
// passwords null; the ignored Kafka key is warned about at start.
func TestDescribeBrokerConfigsListsEveryKey(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "log.retention.hours=24", "--set", "num.io.threads=4",
		"--set", "ssl.keystore.password=secret")
	adm := kadm.NewClient(client(t, b.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil || len(rcs) != 1 || rcs[0].Err != nil {
		t.Fatalf("DescribeBrokerConfigs: %v %+v", err, rcs)
	}
	got := map[string]kadm.Config{}
	for _, c := range rcs[0].Configs {
		got[c.Key] = c
	}
	if len(got) != len(brokerconf.Keys) {
		t.Errorf("%d configs, want every table key (%d)", len(got), len(brokerconf.Keys))
	}
	np := got["num.partitions"]
	if np.Value == nil || *np.Value != "1" || np.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("num.partitions: %+v, want 1 DEFAULT_CONFIG", np)
	}
	rh := got["log.retention.hours"]
	if rh.Value == nil || *rh.Value != "24" || rh.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Errorf("log.retention.hours: %+v, want 24 STATIC_BROKER_CONFIG", rh)
	}
	rms := got["log.retention.ms"]
	if rms.Value != nil || len(rms.Synonyms) != 2 || rms.Synonyms[0].Key != "log.retention.hours" || *rms.Synonyms[0].Value != "24" ||
		rms.Synonyms[0].Source != kmsg.ConfigSourceStaticBrokerConfig || rms.Synonyms[1].Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("log.retention.ms: %+v, want null with synonyms log.retention.hours=24 static then 168 default", rms)
	}
	if pw := got["ssl.keystore.password"]; !pw.Sensitive || pw.Value != nil {
		t.Errorf("ssl.keystore.password: %+v, want sensitive with a null value", pw)
	}
	if !strings.Contains(b.log(), "config num.io.threads=4 (--set) is accepted for Kafka compatibility but not implemented by Rill") {
		t.Errorf("no warning for num.io.threads:\n%s", b.log())
	}
}

// TestTopicConfigErrorsReachTheClient: CreateTopics, AlterConfigs and
// IncrementalAlterConfigs name the config at fault and why.
func TestTopicConfigErrorsReachTheClient(t *testing.T) {
	b := startBroker(t, t.TempDir())
	adm := kadm.NewClient(client(t, b.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	abc := "abc"
	resp, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &abc}, "bad")
	if resp.Err == nil || resp.ErrMessage != `retention.ms: "abc" is not a number of type LONG` {
		t.Errorf("CreateTopics: %v %q", resp.Err, resp.ErrMessage)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "good"); err != nil {
		t.Fatal(err)
	}
	one := "1"
	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "no.such.config", Value: &one}}, "good")
	if err != nil || len(rs) != 1 || rs[0].Err == nil || rs[0].ErrMessage != "Unknown topic config name: no.such.config" {
		t.Errorf("IncrementalAlterConfigs unknown: %v %+v", err, rs)
	}
	rs, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: &one}}, "good")
	if err != nil || len(rs) != 1 || rs[0].Err == nil || rs[0].ErrMessage != "segment.bytes: 1 is below the minimum 14" {
		t.Errorf("AlterConfigs too small: %v %+v", err, rs)
	}
}
