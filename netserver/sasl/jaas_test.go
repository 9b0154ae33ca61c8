package sasl

import (
	"maps"
	"strings"
	"testing"
)

func TestParseJAAS(t *testing.T) {
	const plainModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	for _, tc := range []struct {
		name    string
		config  string
		module  string
		flag    string
		options map[string]string
		err     string
	}{
		{
			name:   "kafka docs example",
			config: `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
			module: plainModule, flag: "REQUIRED",
			options: map[string]string{"username": "admin", "password": "admin-secret", "user_admin": "admin-secret", "user_alice": "alice-secret"},
		},
		{
			name:   "whitespace, newlines, flag case",
			config: "\n\t org.apache.kafka.common.security.plain.PlainLoginModule\n  Required\n  user_alice = \"a\"\n\n ;  ",
			module: plainModule, flag: "REQUIRED", options: map[string]string{"user_alice": "a"},
		},
		{
			name: "other flags", config: `M sufficient;`, module: "M", flag: "SUFFICIENT", options: map[string]string{},
		},
		{
			name: "requisite optional", config: `M OPTIONAL a=b;`, module: "M", flag: "OPTIONAL", options: map[string]string{"a": "b"},
		},
		{
			name:   "escapes",
			config: `M required a="q\"uote" b="back\\slash" c="tab\tnl\n" d="\101\60\7z" e="\q" f='single "inner"' g="\400";`,
			module: "M", flag: "REQUIRED",
			options: map[string]string{"a": `q"uote`, "b": `back\slash`, "c": "tab\tnl\n", "d": "A0\x07z", "e": "q", "f": `single "inner"`, "g": " 0"},
		},
		{
			name:   "unquoted words",
			config: `M required user_bob=bob-secret_1.x$ host=kafka.example.com;`,
			module: "M", flag: "REQUIRED", options: map[string]string{"user_bob": "bob-secret_1.x$", "host": "kafka.example.com"},
		},
		{
			name:   "comments",
			config: "M /* block */ required // line\n a=\"x\" # not a comment char? \n;",
			err:    "Value not specified for key 'null'",
		},
		{
			name:   "slash comments only",
			config: "M /* block */ required // line = \"ignored\";\n a=\"x\" /* b=\"y\" */ ;",
			module: "M", flag: "REQUIRED", options: map[string]string{"a": "x"},
		},
		{
			name:   "lone slash comments out the line",
			config: "M required a=\"x\" / b=\"y\";\n;",
			module: "M", flag: "REQUIRED", options: map[string]string{"a": "x"},
		},
		{
			name:   "duplicate key, last wins",
			config: `M required a="1" a="2";`,
			module: "M", flag: "REQUIRED", options: map[string]string{"a": "2"},
		},
		{
			name:   "quoted key and module",
			config: `"my.Module" required "user_a b"="pw";`,
			module: "my.Module", flag: "REQUIRED", options: map[string]string{"user_a b": "pw"},
		},
		{
			name:   "unterminated quote ends at the line end",
			config: "M required a=\"abc\n;",
			module: "M", flag: "REQUIRED", options: map[string]string{"a": "abc"},
		},
		{
			name:   "non-ASCII word",
			config: `M required user_jürgen=pässwort;`,
			module: "M", flag: "REQUIRED", options: map[string]string{"user_jürgen": "pässwort"},
		},
		{name: "empty", config: "  ", err: "Login module not specified"},
		{name: "only comment", config: "// x", err: "Login module not specified"},
		{name: "no flag", config: "M", err: "control flag not specified"},
		{name: "bad flag", config: "M mandatory;", err: "Invalid login module control flag 'mandatory'"},
		{name: "quoted flag number", config: "M 5;", err: "control flag is not available"},
		{name: "no semicolon", config: `M required a="b"`, err: "not terminated by semi-colon"},
		{name: "numeric value", config: `M required a=5;`, err: "Value not specified for key 'a'"},
		{name: "negative numeric value", config: `M required a=-5;`, err: "Value not specified for key 'a'"},
		{name: "dash value", config: `M required a=-x;`, err: "Value not specified for key 'a'"},
		{name: "missing value", config: `M required a=;`, err: "Value not specified for key 'a'"},
		{name: "missing equals", config: `M required a "b";`, err: "Value not specified for key 'a'"},
		{name: "value at eof", config: `M required a=`, err: "Value not specified for key 'a'"},
		{name: "numeric module", config: `5 required;`, err: "login module name is null or empty"},
		{name: "empty module", config: `"" required;`, err: "login module name is null or empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := ParseJAAS(tc.config)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q (entries %+v)", err, tc.err, entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Fatalf("%d entries", len(entries))
			}
			e := entries[0]
			if e.LoginModule != tc.module || e.ControlFlag != tc.flag || !maps.Equal(e.Options, tc.options) {
				t.Fatalf("got %q %q %q, want %q %q %q", e.LoginModule, e.ControlFlag, e.Options, tc.module, tc.flag, tc.options)
			}
		})
	}
}

func TestJAASPropertyAndUsers(t *testing.T) {
	two := `A required; B required;`
	if entries, err := ParseJAAS(two); err != nil || len(entries) != 2 {
		t.Fatalf("%v %v", entries, err)
	}
	if _, err := ParseJAASProperty(two); err == nil || !strings.Contains(err.Error(), "contains 2 login modules, should be 1 module") {
		t.Fatalf("error %v", err)
	}
	e, err := ParseJAASProperty(`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`)
	if err != nil {
		t.Fatal(err)
	}
	users, err := PlainUsersFromJAAS([]JAASEntry{e})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(users, PlainUsers{"admin": "admin-secret", "alice": "alice-secret"}) {
		t.Fatalf("users %v", users)
	}
	scramEntry, _ := ParseJAASProperty(`org.apache.kafka.common.security.scram.ScramLoginModule required user_x="y";`)
	if _, err := PlainUsersFromJAAS([]JAASEntry{scramEntry}); err == nil {
		t.Fatal("users from a SCRAM login module")
	}
}

func TestServerJAASConfig(t *testing.T) {
	props := map[string]string{
		"listener.name.sasl_ssl.plain.sasl.jaas.config": "listener",
		"sasl.jaas.config": "bare",
	}
	if v, k, ok := ServerJAASConfig(props, "SASL_SSL", "PLAIN"); !ok || v != "listener" || k != "listener.name.sasl_ssl.plain.sasl.jaas.config" {
		t.Fatalf("%q %q %v", v, k, ok)
	}
	if v, k, ok := ServerJAASConfig(props, "INTERNAL", "PLAIN"); !ok || v != "bare" || k != "sasl.jaas.config" {
		t.Fatalf("%q %q %v", v, k, ok)
	}
	if _, _, ok := ServerJAASConfig(map[string]string{}, "X", "PLAIN"); ok {
		t.Fatal("found in empty props")
	}
}

func TestParseCredentialsFile(t *testing.T) {
	users, err := ParseCredentialsFile("# users\n\nalice:alice-secret\r\n  # indented comment\nbob:a pass: with colon \n")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(users, PlainUsers{"alice": "alice-secret", "bob": "a pass: with colon "}) {
		t.Fatalf("users %q", users)
	}
	for _, bad := range []string{"alice", ":pw", "al ice:pw", "alice:", "alice:a\nalice:b"} {
		if _, err := ParseCredentialsFile(bad); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
