package tlsconf

import (
	"errors"
	"strings"
	"testing"
)

// The tables below port Kafka's SslPrincipalMapperTest.

func TestMappingRulesValid(t *testing.T) {
	for _, rules := range []string{
		"DEFAULT",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
		"RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
		"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
		"RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
	} {
		if _, err := ParsePrincipalMappingRules(rules); err != nil {
			t.Errorf("%q: %v", rules, err)
		}
	}
}

func TestMappingRulesInvalid(t *testing.T) {
	for _, rules := range []string{
		"default",
		"DEFAUL",
		"DEFAULT/L",
		"DEFAULT/U",
		"RULE:CN=(.*?),OU=ServiceUsers.*/$1",
		"rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
	} {
		_, err := ParsePrincipalMappingRules(rules)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != PrincipalMappingRules {
			t.Errorf("%q: got %v, want a ConfigError on %s", rules, err, PrincipalMappingRules)
		}
	}
}

func TestPrincipalMapper(t *testing.T) {
	m, err := ParsePrincipalMappingRules(strings.Join([]string{
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
		"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
		"DEFAULT",
	}, ", "))
	if err != nil {
		t.Fatal(err)
	}
	for dn, want := range map[string]string{
		"CN=Duke,OU=ServiceUsers,O=Org,C=US":        "duke",
		"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US": "duke@sme",
		"cn=duke,ou=sme,dc=mycp,dc=com":             "DUKE@SME",
		"cN=duke,OU=JavaSoft,O=Sun Microsystems":    "DUKE",
		"OU=JavaSoft,O=Sun Microsystems,C=US":       "OU=JavaSoft,O=Sun Microsystems,C=US",
	} {
		got, err := m.Name(dn)
		if err != nil || got != want {
			t.Errorf("Name(%q) = %q, %v; want %q", dn, got, err, want)
		}
	}
}

func TestRulesSplitting(t *testing.T) {
	for _, tc := range []struct{ rules, want string }{
		{"", "[]"},
		{"DEFAULT", "[DEFAULT]"},
		{"RULE://", "[RULE:/]"},
		{"RULE:/.*/", "[RULE:/.*]"},
		{"RULE:/.*/L", "[RULE:/.*/L]"},
		{"RULE://,DEFAULT", "[RULE:/, DEFAULT]"},
		{"  RULE:// ,  DEFAULT  ", "[RULE:/, DEFAULT]"},
		{"  RULE:   /     / ,  DEFAULT  ", "[RULE:   /     , DEFAULT]"},
		{"  RULE:  /     /U   ,DEFAULT  ", "[RULE:  /     /U, DEFAULT]"},
		{"  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ", "[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]"},
		// Empty rules are ignored.
		{",   , , ,      , , ,   ", "[]"},
		{",,RULE://,,,DEFAULT,,", "[RULE:/, DEFAULT]"},
		{",  , RULE: /   /    ,,,   DEFAULT, ,   ", "[RULE: /   , DEFAULT]"},
		{"     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,", "[RULE:   /  /U, DEFAULT]"},
		// Escape sequences.
		{`RULE:\/\\\(\)\n\t/\/\//`, `[RULE:\/\\\(\)\n\t/\/\/]`},
		{`RULE:\**\/+/*/L,RULE:\/*\**/**/`, `[RULE:\**\/+/*/L, RULE:\/*\**/**]`},
		// Rules rule.
		{`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`,
			`[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]`},
	} {
		m, err := ParsePrincipalMappingRules(tc.rules)
		if err != nil {
			t.Errorf("%q: %v", tc.rules, err)
			continue
		}
		if got := m.String(); got != tc.want {
			t.Errorf("%q: rules %s, want %s", tc.rules, got, tc.want)
		}
	}
}

func TestCommaWithWhitespace(t *testing.T) {
	m, err := ParsePrincipalMappingRules(`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Name(`CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`); err != nil || got != `Tkac\, Adam` {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestNoMatchingRule(t *testing.T) {
	m, err := ParsePrincipalMappingRules("RULE:^CN=(.*),OU=x$/$1/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Name("CN=alice,OU=y")
	var nm *NoMatchingRuleError
	if !errors.As(err, &nm) || nm.DN != "CN=alice,OU=y" {
		t.Fatalf("got %v, want NoMatchingRuleError", err)
	}
	empty, err := ParsePrincipalMappingRules("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Name("CN=a"); !errors.As(err, &nm) {
		t.Fatalf("no rules: got %v, want NoMatchingRuleError", err)
	}
	var nilMapper *PrincipalMapper
	if got, err := nilMapper.Name("CN=a"); err != nil || got != "CN=a" {
		t.Fatalf("nil mapper: %q, %v", got, err)
	}
}

// Java's replacement syntax and Kafka's treatment of references to
// groups the pattern does not have.
func TestReplacement(t *testing.T) {
	for _, tc := range []struct {
		rule, dn, want, err string
	}{
		{rule: `RULE:^CN=(\w+),O=(\w+)$/$2-$1/`, dn: "CN=a,O=b", want: "b-a"},
		// $12 with two groups is $1 and "2".
		{rule: `RULE:^CN=(\w+),O=(\w+)$/$12/`, dn: "CN=a,O=b", want: "a2"},
		// $3 names no group: Kafka makes it literal.
		{rule: `RULE:^CN=(\w+),O=(\w+)$/$1$3/`, dn: "CN=a,O=b", want: "a$3"},
		// A backslash quotes: \$1 is "$1".
		{rule: `RULE:^CN=(\w+)$/\$1=$1/`, dn: "CN=a", want: "$1=a"},
		{rule: `RULE:^CN=(?<user>\w+)$/${user}@x/`, dn: "CN=a", want: "a@x"},
		// A group that did not take part adds nothing.
		{rule: `RULE:^CN=(\w+)(,O=(\w+))?$/$1:$3/`, dn: "CN=a", want: "a:"},
		// Without groups, $1 is an error, as Java's "No group 1".
		{rule: `RULE:^CN=\w+$/$1/`, dn: "CN=a", err: "no group 1"},
		{rule: `RULE:^CN=(\w+)$/${nope}/`, dn: "CN=a", err: "no group with name"},
		// Every match is replaced, as String.replaceAll does.
		{rule: `RULE:[a-z]/x/`, dn: "a", want: "x"},
		{rule: `RULE:^(.*)$/<$1>/U`, dn: "cn=alice", want: "<CN=ALICE>"},
		// Kafka's quirk: the second escape lands one character early.
		{rule: `RULE:^CN=(\w+)$/$4@$5/`, dn: "CN=a", err: "no group 5"},
	} {
		m, err := ParsePrincipalMappingRules(tc.rule)
		if err != nil {
			t.Errorf("%s: %v", tc.rule, err)
			continue
		}
		got, err := m.Name(tc.dn)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s on %q: got %q, %v; want error %q", tc.rule, tc.dn, got, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s on %q: got %q, %v; want %q", tc.rule, tc.dn, got, err, tc.want)
		}
	}
}

func TestJavaRegexTranslation(t *testing.T) {
	for _, tc := range []struct {
		pattern, dn string
		match       bool
		err         string
	}{
		{pattern: `CN=\p{Lower}+`, dn: "CN=alice", match: true},
		{pattern: `CN=\p{Lower}+`, dn: "CN=Alice", match: false},
		{pattern: `CN=[\p{Upper}\p{Digit}]+`, dn: "CN=A1", match: true},
		{pattern: `CN=\P{Digit}+`, dn: "CN=abc", match: true},
		{pattern: `CN=\p{IsLatin}+`, dn: "CN=José", match: true},
		{pattern: `CN=a\hb`, dn: "CN=a b", match: true},
		{pattern: `CN=\u0041`, dn: "CN=A", match: true},
		{pattern: `CN=\Q(a)\E`, dn: "CN=(a)", match: true},
		{pattern: `(?i)cn=ALICE`, dn: "CN=alice", match: true},
		{pattern: `CN=(\w)\1`, err: "not supported"},
		{pattern: `CN=(?=a)a`, err: "not supported"},
		{pattern: `CN=a*+`, err: "not supported"},
		{pattern: `CN=[a-z&&[^e]]+`, err: "not supported"},
		{pattern: `CN=[a[b]]`, err: "nested"},
		{pattern: `(?U)CN=\w+`, err: "flag"},
		{pattern: `CN=a\Z`, err: `\Z`},
	} {
		m, err := ParsePrincipalMappingRules("RULE:" + tc.pattern + "/ok/")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error with %q", tc.pattern, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		got, err := m.Name(tc.dn)
		if matched := err == nil && got == "ok"; matched != tc.match {
			t.Errorf("%s on %q: got %q, %v; want match=%v", tc.pattern, tc.dn, got, err, tc.match)
		}
	}
}
