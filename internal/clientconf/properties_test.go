package clientconf

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestParseProperties(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       map[string]string
	}{
		{"separators", "a=1\nb:2\nc 3\nd = 4\ne\t:\t5\nf  =  = 6\n", map[string]string{
			"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "= 6"}},
		{"comments and blanks", "# c\n  ! c\n\n   \nk=v # not a comment\n", map[string]string{"k": "v # not a comment"}},
		{"empty value and bare key", "k=\nbare\n", map[string]string{"k": "", "bare": ""}},
		{"continuation", "sasl.jaas.config=org.Module required \\\n    username=\"u\" \\\n    password=\"p\";\nnext=1\n", map[string]string{
			"sasl.jaas.config": `org.Module required username="u" password="p";`, "next": "1"}},
		{"escaped backslash ends no line", "path=c:\\\\dir\\\\\nk=v\n", map[string]string{"path": `c:\dir\`, "k": "v"}},
		{"escapes", `k=a\tb\nc\u0041\=\:\ \#` + "\n", map[string]string{"k": "a\tb\ncA=: #"}},
		{"surrogate pair", `k=\uD83D\uDE00` + "\n", map[string]string{"k": "😀"}},
		{"escaped separators in key", `a\=b\:c\ d=v` + "\n", map[string]string{"a=b:c d": "v"}},
		{"duplicate: last wins", "k=1\nk=2\n", map[string]string{"k": "2"}},
		{"CRLF and CR", "a=1\r\nb=2\rc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"comment line does not continue", "# a \\\nk=v\n", map[string]string{"k": "v"}},
		{"continued line starting with #", "k=a\\\n#b\n", map[string]string{"k": "a#b"}},
		{"trailing backslash at end", "k=v\\", map[string]string{"k": "v"}},
		{"UTF-8", "k=pässword\n", map[string]string{"k": "pässword"}},
		{"Latin-1 when not UTF-8", "k=p\xe4ss\n", map[string]string{"k": "päss"}},
	} {
		got, err := ParseProperties([]byte(tc.text))
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := ParseProperties([]byte("ok=1\nk=\\u12G4\n")); err == nil || err.Error() != `line 2: malformed \uxxxx encoding` {
		t.Errorf("bad \\u escape: %v", err)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.properties")
	text := `# kafka-topics.sh --command-config client.properties
bootstrap.servers=127.0.0.1:9092,[::1]:9093
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="alice" \
    password="alice-secret";
acks=all
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mechanism != MechanismScramSHA512 || len(c.BootstrapServers) != 2 || c.SASL() == nil || c.TLS() != nil {
		t.Fatalf("config %+v", c)
	}
	if u := c.Unused(); len(u) != 1 || u[0] != "acks" {
		t.Errorf("unused %v", u)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file loaded")
	}
}
