package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conn: --bootstrap, else the file's bootstrap.servers, else $RILL_BROKERS,
// else the default;
// keys the tools do not read warned about once; bad files are errors
// naming the flag and the key.
func TestToolConn(t *testing.T) {
	var warnings bytes.Buffer
	saved := toolWarnings
	defer func() { toolWarnings = saved }()
	toolWarnings = &warnings
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	props := file("client.properties", "# a producer's file\nbootstrap.servers=h1:9093, h2:9093\nclient.id=tools\nacks=all\nlinger.ms=5\n")
	for _, c := range []struct {
		bootstrap, config, env string
		want                   string
	}{
		{"", "", "", defaultBootstrap},
		{"", props, "", "h1:9093 h2:9093"},
		{"b1:1,b2:2", props, "", "b1:1 b2:2"},
		{" b1:1 ", "", "", "b1:1"},
		{"", "", "e1:1, e2:2", "e1:1 e2:2"},
		{"", props, "e1:1", "h1:9093 h2:9093"},
		{"b1:1", "", "e1:1", "b1:1"},
	} {
		t.Setenv(brokersEnv, c.env)
		warnings.Reset()
		tf := toolFlags{bootstrap: c.bootstrap, commandConfig: c.config}
		for range 2 {
			seeds, opts, err := tf.conn()
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			if got := strings.Join(seeds, " "); got != c.want || len(opts) == 0 {
				t.Fatalf("%+v: seeds %q (%d options), want %q", c, got, len(opts), c.want)
			}
		}
		cl, err := tf.client()
		if err != nil {
			t.Fatal(err)
		}
		cl.Close()
		want := ""
		if c.config != "" {
			want = "rill: --command-config: ignoring acks\nrill: --command-config: ignoring linger.ms\n"
		}
		if warnings.String() != want {
			t.Fatalf("%+v: warned %q, want %q", c, warnings.String(), want)
		}
	}
	for _, c := range []struct{ text, key string }{
		{"security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n", "sasl.mechanism"},
		{"security.protocol=SSL\nssl.truststore.location=" + filepath.Join(dir, "missing.pem") + "\n", "ssl.truststore.location"},
		{"security.protocol=TLS\n", "security.protocol"},
		{"bootstrap.servers=no-port\n", "bootstrap.servers"},
	} {
		tf := toolFlags{commandConfig: file("bad.properties", c.text)}
		_, err := tf.client()
		if err == nil || !strings.Contains(err.Error(), "--command-config "+tf.commandConfig) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%q: %v, want an error naming %s", c.text, err, c.key)
		}
	}
}
