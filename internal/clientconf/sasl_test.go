package clientconf

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"

	rillsasl "github.com/rillmq/rill/netserver/sasl"
)

var testNow = time.Date(2026, 11, 1, 12, 0, 0, 500_000_000, time.UTC)

// exchange runs the client mechanism against Rill's server side of SASL
// (the SaslAuthenticate payloads, without a broker) and returns the
// authenticated principal.
func exchange(t *testing.T, mech sasl.Mechanism, auth *rillsasl.Authenticator) (string, error) {
	t.Helper()
	client, msg, err := mech.Authenticate(context.Background(), "127.0.0.1:9092")
	if err != nil {
		return "", err
	}
	server, err := auth.Start(mech.Name())
	if err != nil {
		return "", err
	}
	for range 10 {
		resp, done, err := server.Step(msg, testNow)
		if err != nil {
			return "", err
		}
		clientDone, next, err := client.Challenge(resp)
		if err != nil {
			return "", err
		}
		if done {
			if !clientDone {
				t.Fatal("the server finished before the client")
			}
			return server.Principal(), nil
		}
		msg = next
	}
	t.Fatal("no end to the exchange")
	return "", nil
}

func TestSASLAgainstRillServer(t *testing.T) {
	scramUsers := rillsasl.ScramUsers{}
	for _, m := range []string{rillsasl.MechanismScramSHA256, rillsasl.MechanismScramSHA512} {
		cred, err := rillsasl.NewScramCredential(m, "alice-secret", []byte("salt-salt-salt"), 4096)
		if err != nil {
			t.Fatal(err)
		}
		scramUsers[rillsasl.ScramKey{Mechanism: m, User: "alice"}] = cred
	}
	auth, err := rillsasl.NewAuthenticator(rillsasl.Config{
		Mechanisms:  []string{rillsasl.MechanismPlain, rillsasl.MechanismScramSHA256, rillsasl.MechanismScramSHA512, rillsasl.MechanismOAuthBearer},
		Plain:       rillsasl.PlainUsers{"alice": "alice-secret"},
		Scram:       scramUsers,
		OAuthBearer: &rillsasl.UnsecuredValidator{},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		props  map[string]string
		wantOK bool
	}{
		{"PLAIN", map[string]string{SASLMechanism: "PLAIN", SASLJAASConfig: plainJAAS}, true},
		{"PLAIN librdkafka", map[string]string{SASLMechanism: "PLAIN", SASLUsername: "alice", SASLPassword: "alice-secret"}, true},
		{"PLAIN wrong password", map[string]string{SASLMechanism: "PLAIN", SASLUsername: "alice", SASLPassword: "nope"}, false},
		{"SCRAM-SHA-256", map[string]string{SASLMechanism: "SCRAM-SHA-256", SASLJAASConfig: scramJAAS}, true},
		{"SCRAM-SHA-512", map[string]string{SASLMechanism: "SCRAM-SHA-512", SASLJAASConfig: scramJAAS}, true},
		{"SCRAM wrong password", map[string]string{SASLMechanism: "SCRAM-SHA-512", SASLUsername: "alice", SASLPassword: "nope"}, false},
		{"OAUTHBEARER unsecured", map[string]string{SASLMechanism: "OAUTHBEARER", SASLJAASConfig: oauthJAAS}, true},
		{"OAUTHBEARER expired", map[string]string{SASLMechanism: "OAUTHBEARER", SASLJAASConfig: strings.TrimSuffix(oauthJAAS, ";") + ` unsecuredLoginLifetimeSeconds="-10";`}, false},
	} {
		props := with(tc.props, SecurityProtocol, "SASL_PLAINTEXT")
		c, err := Parse(props, WithClock(func() time.Time { return testNow }))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		principal, err := exchange(t, c.SASL(), auth)
		switch {
		case tc.wantOK && (err != nil || principal != "User:alice"):
			t.Errorf("%s: principal %q, %v", tc.name, principal, err)
		case !tc.wantOK && err == nil:
			t.Errorf("%s: authenticated as %q, want a failure", tc.name, principal)
		}
	}
}

func decodeToken(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("token %q is not an unsecured JWS", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return header, claims
}

func TestUnsecuredToken(t *testing.T) {
	jaas := `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required
		unsecuredLoginStringClaim_sub="alice"
		unsecuredLoginStringClaim_quote="a\"b"
		unsecuredLoginNumberClaim_level="2.5"
		unsecuredLoginListClaim_scope="|read|write"
		unsecuredLoginListClaim_empty="|a||b|"
		unsecuredLoginLifetimeSeconds="60"
		unsecuredLoginExtension_traceId="123";`
	c, err := Parse(map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "OAUTHBEARER", SASLJAASConfig: jaas})
	if err != nil {
		t.Fatal(err)
	}
	login, err := c.unsecuredLogin()
	if err != nil {
		t.Fatal(err)
	}
	header, claims := decodeToken(t, login.token(testNow))
	if header["alg"] != "none" || len(header) != 1 {
		t.Errorf("header %v", header)
	}
	want := map[string]string{
		"sub":   "alice",
		"quote": `a"b`,
		"level": "2.5",
		"scope": "[read write]",
		"empty": "[a  b ]",
		"iat":   "1793534400.5",
		"exp":   "1793534460.5",
	}
	for k, v := range want {
		got := claims[k]
		if s, ok := got.([]any); ok {
			parts := make([]string, len(s))
			for i, e := range s {
				parts[i] = e.(string)
			}
			got = "[" + strings.Join(parts, " ") + "]"
		}
		if g, _ := got.(string); g != v {
			if n, ok := got.(json.Number); !ok || n.String() != v {
				t.Errorf("claim %s = %v, want %s", k, got, v)
			}
		}
	}
	if login.extensions["traceId"] != "123" || len(login.extensions) != 1 {
		t.Errorf("extensions %v", login.extensions)
	}
	// The validator on Rill's side takes it.
	tok, err := (&rillsasl.UnsecuredValidator{}).ValidateToken(login.token(testNow), testNow.Add(time.Second))
	if err != nil || tok.Principal != "alice" || strings.Join(tok.Scope, ",") != "read,write" {
		t.Errorf("validated %+v, %v", tok, err)
	}
}

func TestUnsecuredLoginErrors(t *testing.T) {
	module := "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
	for _, tc := range []struct{ name, options string }{
		{"no sub", `unsecuredLoginStringClaim_user="alice";`},
		{"blank sub", `unsecuredLoginStringClaim_sub=" ";`},
		{"principal claim elsewhere", `unsecuredLoginPrincipalClaimName="azp" unsecuredLoginStringClaim_sub="alice";`},
		{"iat", `unsecuredLoginStringClaim_sub="alice" unsecuredLoginNumberClaim_iat="1";`},
		{"exp", `unsecuredLoginStringClaim_sub="alice" unsecuredLoginStringClaim_exp="1";`},
		{"number", `unsecuredLoginStringClaim_sub="alice" unsecuredLoginNumberClaim_n="x";`},
		{"lifetime", `unsecuredLoginStringClaim_sub="alice" unsecuredLoginLifetimeSeconds="1h";`},
		{"extension name", `unsecuredLoginStringClaim_sub="alice" unsecuredLoginExtension_trace_id="1";`},
		{"auth extension", `unsecuredLoginStringClaim_sub="alice" unsecuredLoginExtension_auth="1";`},
		{"extension value", "unsecuredLoginStringClaim_sub=\"alice\" unsecuredLoginExtension_t=\"\x01\";"},
	} {
		_, err := Parse(map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "OAUTHBEARER", SASLJAASConfig: module + tc.options})
		if e, ok := err.(*Error); !ok || e.Key != SASLJAASConfig {
			t.Errorf("%s: got %v, want an error on %s", tc.name, err, SASLJAASConfig)
		}
	}
	// A custom principal claim.
	c, err := Parse(map[string]string{SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "OAUTHBEARER",
		SASLJAASConfig: module + `unsecuredLoginPrincipalClaimName="azp" unsecuredLoginStringClaim_azp="svc";`})
	if err != nil {
		t.Fatal(err)
	}
	login, _ := c.unsecuredLogin()
	tok, err := (&rillsasl.UnsecuredValidator{PrincipalClaim: "azp"}).ValidateToken(login.token(testNow), testNow)
	if err != nil || tok.Principal != "svc" {
		t.Errorf("azp principal: %+v, %v", tok, err)
	}
}

func TestListClaim(t *testing.T) {
	for in, want := range map[string]string{
		"":         "",
		"|":        "",
		"|a":       "a",
		"|a|b":     "a,b",
		",a,b":     "a,b",
		"|a||b":    "a,,b,",
		"|a|b|":    "a,b,",
		"||a":      ",a,",
		"|a|b||||": "a,b,",
	} {
		if got := strings.Join(listClaim(in), ","); got != want {
			t.Errorf("listClaim(%q) = %q, want %q", in, got, want)
		}
	}
}
