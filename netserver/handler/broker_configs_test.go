package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBrokerConfigEntries: the names asked for (all when nil), synonyms
// and documentation only when asked, every entry read-only, a sensitive
// value null; a topic default is static when a broker synonym was set.
func TestBrokerConfigEntries(t *testing.T) {
	static, def := kmsg.ConfigSourceStaticBrokerConfig, kmsg.ConfigSourceDefaultConfig
	b := &Broker{cfg: Config{BrokerConfigs: []BrokerConfig{
		{Name: "log.retention.hours", Value: kmsg.StringPtr("24"), Source: static, Type: kmsg.ConfigTypeInt, Doc: "hours"},
		{Name: "log.retention.ms", Source: def, Type: kmsg.ConfigTypeLong, Doc: "ms", Synonyms: []BrokerConfigSynonym{
			{Name: "log.retention.hours", Value: kmsg.StringPtr("24"), Source: static},
			{Name: "log.retention.hours", Value: kmsg.StringPtr("168"), Source: def},
		}},
		{Name: "num.partitions", Value: kmsg.StringPtr("1"), Source: def, Type: kmsg.ConfigTypeInt, Doc: "partitions"},
		{Name: "ssl.keystore.password", Source: static, Sensitive: true, Type: kmsg.ConfigTypePassword},
	}}}
	all := b.brokerConfigEntries(nil, false, false)
	if len(all) != 4 {
		t.Fatalf("%d entries, want 4", len(all))
	}
	for _, c := range all {
		if !c.ReadOnly || c.Documentation != nil || len(c.ConfigSynonyms) != 0 {
			t.Errorf("%s: read-only %v, doc %v, synonyms %v without asking", c.Name, c.ReadOnly, c.Documentation, c.ConfigSynonyms)
		}
	}
	if pw := all[3]; !pw.IsSensitive || pw.Value != nil {
		t.Errorf("password entry %+v", pw)
	}
	if np := all[2]; !np.IsDefault || np.Source != def || *np.Value != "1" {
		t.Errorf("num.partitions entry %+v", np)
	}

	some := b.brokerConfigEntries([]string{"log.retention.ms", "no.such.key"}, true, true)
	if len(some) != 1 || some[0].Name != "log.retention.ms" {
		t.Fatalf("named entries %+v", some)
	}
	if c := some[0]; c.Documentation == nil || *c.Documentation != "ms" || len(c.ConfigSynonyms) != 2 || c.ConfigSynonyms[0].Source != static {
		t.Errorf("log.retention.ms with docs and synonyms: %+v", c)
	}

	if !b.brokerConfigSet("log.retention.ms") {
		t.Error("log.retention.ms not static though its synonym log.retention.hours was set")
	}
	if b.brokerConfigSet("num.partitions") || b.brokerConfigSet("unknown") {
		t.Error("a default or unknown key reads as set")
	}
}
