package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLoadBrokerConfigRules: log.dir stands for an unset log.dirs,
// --data-dir wins over both, broker.id stands for node.id, and the
// environment ranks between the file and --set.
func TestLoadBrokerConfigRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(file, []byte("log.dir=/var/rill\nbroker.id=7\nnum.partitions=2\nlog.retention.hours=24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadBrokerConfig(configSources{file: file, env: []string{"KAFKA_NUM_PARTITIONS=3", "KAFKA_MIN_INSYNC_REPLICAS=2"}, sets: []string{"min.insync.replicas=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.dataDir(); d != "/var/rill" {
		t.Errorf("data dir %q, want log.dir's /var/rill", d)
	}
	if id, _ := c.int64("node.id", 1); id != 7 {
		t.Errorf("node.id %d, want broker.id's 7", id)
	}
	if v := c.get("num.partitions", "1"); v != "3" {
		t.Errorf("num.partitions %s, want the environment's 3 over the file's 2", v)
	}
	if v := c.get("min.insync.replicas", "1"); v != "1" {
		t.Errorf("min.insync.replicas %s, want --set's 1 over the environment's 2", v)
	}
	// DescribeConfigs: log.retention.ms is unset with the file's
	// log.retention.hours as its first synonym.
	for _, e := range c.describeEntries() {
		if e.Name != "log.retention.ms" {
			continue
		}
		if e.Value != nil || e.Source != kmsg.ConfigSourceDefaultConfig || len(e.Synonyms) == 0 ||
			e.Synonyms[0].Name != "log.retention.hours" || e.Synonyms[0].Source != kmsg.ConfigSourceStaticBrokerConfig {
			t.Errorf("log.retention.ms entry %+v", e)
		}
	}

	c, err = loadBrokerConfig(configSources{file: file, dataDir: "/data,with-comma"})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.dataDir(); d != "/data,with-comma" {
		t.Errorf("data dir %q, want --data-dir's", d)
	}

	_, err = loadBrokerConfig(configSources{sets: []string{"nokeyvalue", "num.partitions=x"}})
	if err == nil || !strings.Contains(err.Error(), `--set nokeyvalue: want key=value`) || !strings.Contains(err.Error(), `num.partitions: "x" is not a number`) {
		t.Errorf("both errors at once: %v", err)
	}
}
