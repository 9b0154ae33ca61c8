package sasl

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/xdg-go/scram"
)

// The iteration bounds of Kafka's ScramMechanism: a server refuses a
// credential under the minimum, and AlterUserScramCredentials refuses an
// upsertion outside both.
const (
	ScramMinIterations = 4096
	ScramMaxIterations = 16384
)

// ErrUnacceptableCredential: a SCRAM credential cannot be made or stored
// (UNACCEPTABLE_CREDENTIAL in AlterUserScramCredentials).
var ErrUnacceptableCredential = errors.New("sasl: unacceptable SCRAM credential")

// ScramCredential is what the server keeps of a SCRAM password (RFC 5802
// section 3): the salted password never leaves the client or the tool.
type ScramCredential struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte // H(HMAC(SaltedPassword, "Client Key"))
	ServerKey  []byte // HMAC(SaltedPassword, "Server Key")
}

// ScramStore finds a user's credential for a SCRAM mechanism. The broker
// backs it with the metadata log. Implementations must be safe for
// concurrent use.
type ScramStore interface {
	LookupScram(mechanism, user string) (ScramCredential, bool)
}

// ScramKey names a credential in ScramUsers.
type ScramKey struct {
	Mechanism string
	User      string
}

// ScramUsers is an in-memory ScramStore.
type ScramUsers map[ScramKey]ScramCredential

// LookupScram implements ScramStore.
func (u ScramUsers) LookupScram(mechanism, user string) (ScramCredential, bool) {
	c, ok := u[ScramKey{mechanism, user}]
	return c, ok
}

func scramHash(mechanism string) (func() hash.Hash, scram.HashGeneratorFcn, error) {
	switch mechanism {
	case MechanismScramSHA256:
		return sha256.New, scram.SHA256, nil
	case MechanismScramSHA512:
		return sha512.New, scram.SHA512, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown SCRAM mechanism %q", ErrUnacceptableCredential, mechanism)
}

// ScramCredentialFromSaltedPassword derives the credential from the salt
// and SaltedPassword of an AlterUserScramCredentials upsertion, as Kafka's
// ScramFormatter.generateCredential does, after the checks of Kafka's
// controller (iterations within [4096, 16384], salt and salted password
// present). Errors wrap ErrUnacceptableCredential.
func ScramCredentialFromSaltedPassword(mechanism string, salt, saltedPassword []byte, iterations int) (ScramCredential, error) {
	h, _, err := scramHash(mechanism)
	if err != nil {
		return ScramCredential{}, err
	}
	switch {
	case iterations < ScramMinIterations:
		return ScramCredential{}, fmt.Errorf("%w: too few iterations (%d < %d)", ErrUnacceptableCredential, iterations, ScramMinIterations)
	case iterations > ScramMaxIterations:
		return ScramCredential{}, fmt.Errorf("%w: too many iterations (%d > %d)", ErrUnacceptableCredential, iterations, ScramMaxIterations)
	case len(salt) == 0:
		return ScramCredential{}, fmt.Errorf("%w: empty salt", ErrUnacceptableCredential)
	case len(saltedPassword) == 0:
		return ScramCredential{}, fmt.Errorf("%w: empty salted password", ErrUnacceptableCredential)
	}
	clientKey := hmacSum(h, saltedPassword, []byte("Client Key"))
	storedKey := h()
	storedKey.Write(clientKey)
	return ScramCredential{
		Salt:       bytes.Clone(salt),
		Iterations: iterations,
		StoredKey:  storedKey.Sum(nil),
		ServerKey:  hmacSum(h, saltedPassword, []byte("Server Key")),
	}, nil
}

// ScramSaltedPassword is Hi(password, salt, iterations) (PBKDF2 with the
// mechanism's HMAC), the password as UTF-8 without SASLprep, as Kafka's
// ScramFormatter and Kafka clients compute it.
func ScramSaltedPassword(mechanism, password string, salt []byte, iterations int) ([]byte, error) {
	h, _, err := scramHash(mechanism)
	if err != nil {
		return nil, err
	}
	if iterations <= 0 {
		return nil, fmt.Errorf("%w: iterations %d", ErrUnacceptableCredential, iterations)
	}
	sp, err := pbkdf2.Key(h, password, salt, iterations, h().Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnacceptableCredential, err)
	}
	return sp, nil
}

// NewScramCredential derives a credential from a password and salt, for
// tests and tools.
func NewScramCredential(mechanism, password string, salt []byte, iterations int) (ScramCredential, error) {
	sp, err := ScramSaltedPassword(mechanism, password, salt, iterations)
	if err != nil {
		return ScramCredential{}, err
	}
	return ScramCredentialFromSaltedPassword(mechanism, salt, sp, iterations)
}

// GenerateScramCredential derives a credential from a password with a
// random 32-byte salt read from random (crypto/rand.Reader in production).
func GenerateScramCredential(mechanism, password string, iterations int, random io.Reader) (ScramCredential, error) {
	salt := make([]byte, 32)
	if _, err := io.ReadFull(random, salt); err != nil {
		return ScramCredential{}, fmt.Errorf("sasl: reading a salt: %w", err)
	}
	return NewScramCredential(mechanism, password, salt, iterations)
}

func hmacSum(h func() hash.Hash, key, data []byte) []byte {
	m := hmac.New(h, key)
	m.Write(data)
	return m.Sum(nil)
}

// scramServer is Kafka's ScramSaslServer: client-first → server-first,
// client-final → server-final. Each client message is checked against
// Kafka's grammar (ScramMessages) before github.com/xdg-go/scram, which
// does the nonce, channel-binding and proof checks, sees it.
type scramServer struct {
	mechanism string
	store     ScramStore
	random    io.Reader
	hashSize  int
	conv      *scram.ServerConversation
	username  string
	finished  bool
}

func newScramServer(mechanism string, store ScramStore, random io.Reader) *scramServer {
	h, _, _ := scramHash(mechanism)
	return &scramServer{mechanism: mechanism, store: store, random: random, hashSize: h().Size()}
}

func (s *scramServer) step(msg []byte, _ time.Time) ([]byte, bool, error) {
	if s.conv == nil {
		return s.first(msg)
	}
	return s.final(msg)
}

func (s *scramServer) first(msg []byte) ([]byte, bool, error) {
	cf, err := parseScramClientFirst(msg)
	if err != nil {
		return nil, false, err
	}
	if isJavaTrue(cf.extensions["tokenauth"]) {
		return nil, false, hiddenFailure("delegation token authentication (tokenauth) is not supported")
	}
	cred, ok := s.store.LookupScram(s.mechanism, cf.username)
	if !ok {
		return nil, false, hiddenFailure("Authentication failed: Invalid user credentials")
	}
	if cf.authzid != "" && cf.authzid != cf.username {
		return nil, false, visibleFailure("Authentication failed: Client requested an authorization id that is different from username")
	}
	if cred.Iterations < ScramMinIterations {
		return nil, false, hiddenFailure("Iterations %d is less than the minimum %d for %s", cred.Iterations, ScramMinIterations, s.mechanism)
	}
	if len(cred.StoredKey) != s.hashSize || len(cred.ServerKey) != s.hashSize || len(cred.Salt) == 0 {
		return nil, false, hiddenFailure("malformed stored %s credential for the user", s.mechanism)
	}
	raw := make([]byte, 24)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return nil, false, hiddenFailure("reading a nonce: %v", err)
	}
	nonce := base64.StdEncoding.EncodeToString(raw)
	_, hashGen, _ := scramHash(s.mechanism)
	server, err := hashGen.NewServer(func(string) (scram.StoredCredentials, error) {
		return scram.StoredCredentials{
			KeyFactors: scram.KeyFactors{Salt: string(cred.Salt), Iters: cred.Iterations},
			StoredKey:  cred.StoredKey,
			ServerKey:  cred.ServerKey,
		}, nil
	})
	if err != nil {
		return nil, false, hiddenFailure("scram server: %v", err)
	}
	s.conv = server.WithNonceGenerator(func() string { return nonce }).NewConversation()
	s.username = cf.username
	// xdg-go/scram v1.1.2 rebuilds the gs2 header it compares the
	// client-final's channel binding with as "n,<authzid>," and drops the
	// "a=", so any authzid would fail. Giving it "a=a=<authzid>" makes the
	// header "n,a=<authzid>,", what the client binds; the AuthMessage does
	// not include the gs2 header. TestScramInterop covers it.
	first := string(msg)
	if cf.authzid != "" {
		first = "n,a=" + first[len("n,"):]
	}
	resp, err := s.conv.Step(first)
	if err != nil {
		return nil, false, hiddenFailure("client-first-message: %v", err)
	}
	return []byte(resp), false, nil
}

func (s *scramServer) final(msg []byte) ([]byte, bool, error) {
	if err := checkScramClientFinal(msg, s.hashSize); err != nil {
		return nil, false, err
	}
	resp, err := s.conv.Step(string(msg))
	if err != nil || !s.conv.Valid() {
		return nil, false, hiddenFailure("client-final-message: %v", err)
	}
	s.finished = true
	return []byte(resp), true, nil
}

func (s *scramServer) user() string {
	if !s.finished {
		return ""
	}
	return s.username
}

func (s *scramServer) credentialExpiry() (time.Time, bool) { return time.Time{}, false }

// isJavaTrue is Boolean.parseBoolean.
func isJavaTrue(v string) bool { return strings.EqualFold(v, "true") }

// scramClientFirst is Kafka's ClientFirstMessage:
//
//	n,[a=<saslname>],n=<saslname>,r=<printable>[,<alpha>=<value>]*
//
// Kafka's grammar also admits a reserved "m=" field after the gs2 header;
// it is refused here, as RFC 5802 and xdg-go/scram refuse it (Kafka would
// go on to compute an AuthMessage the client does not, and fail anyway).
type scramClientFirst struct {
	authzid    string // as sent (Kafka compares it undecoded)
	username   string // decoded (=2C → ',', =3D → '=')
	extensions map[string]string
}

func parseScramClientFirst(msg []byte) (scramClientFirst, error) {
	bad := func(why string) (scramClientFirst, error) {
		return scramClientFirst{}, hiddenFailure("invalid SCRAM client first message format: %s", why)
	}
	fields := strings.Split(string(msg), ",")
	if len(fields) < 4 || fields[0] != "n" {
		return bad("want n,[a=authzid],n=name,r=nonce")
	}
	var cf scramClientFirst
	if fields[1] != "" {
		a, ok := strings.CutPrefix(fields[1], "a=")
		if !ok || !isScramSaslName(a) {
			return bad("authzid")
		}
		cf.authzid = a
	}
	name, ok := strings.CutPrefix(fields[2], "n=")
	if !ok || !isScramSaslName(name) {
		return bad("user name")
	}
	cf.username = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(name)
	nonce, ok := strings.CutPrefix(fields[3], "r=")
	if !ok || !isScramPrintable(nonce) {
		return bad("nonce")
	}
	cf.extensions = map[string]string{}
	for _, f := range fields[4:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !isAlpha(k) || !isScramValue(v) {
			return bad("extension")
		}
		cf.extensions[k] = v
	}
	return cf, nil
}

// checkScramClientFinal checks Kafka's ClientFinalMessage grammar,
//
//	c=<base64>,r=<printable>[,<alpha>=<value>]*,p=<base64>
//
// and that the proof is one hash long.
func checkScramClientFinal(msg []byte, hashSize int) error {
	bad := func(why string) error {
		return hiddenFailure("invalid SCRAM client final message format: %s", why)
	}
	fields := strings.Split(string(msg), ",")
	if len(fields) < 3 {
		return bad("want c=binding,r=nonce,p=proof")
	}
	c, ok := strings.CutPrefix(fields[0], "c=")
	if !ok {
		return bad("channel binding")
	}
	if _, err := base64.StdEncoding.DecodeString(c); err != nil {
		return bad("channel binding")
	}
	if r, ok := strings.CutPrefix(fields[1], "r="); !ok || !isScramPrintable(r) {
		return bad("nonce")
	}
	for _, f := range fields[2 : len(fields)-1] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !isAlpha(k) || !isScramValue(v) {
			return bad("extension")
		}
	}
	p, ok := strings.CutPrefix(fields[len(fields)-1], "p=")
	if !ok {
		return bad("proof")
	}
	proof, err := base64.StdEncoding.DecodeString(p)
	if err != nil || len(proof) != hashSize {
		return bad("proof")
	}
	return nil
}

// isScramSaslName: (?:[\x01-\x7F&&[^=,]]|=2C|=3D)+
func isScramSaslName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '=':
			if !strings.HasPrefix(s[i:], "=2C") && !strings.HasPrefix(s[i:], "=3D") {
				return false
			}
			i += 2
		case c == 0 || c > 0x7F || c == ',':
			return false
		}
	}
	return true
}

// isScramPrintable: [\x21-\x7E&&[^,]]+
func isScramPrintable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7E || c == ',' {
			return false
		}
	}
	return true
}

// isScramValue: [\x01-\x7F&&[^,]]+
func isScramValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c > 0x7F || c == ',' {
			return false
		}
	}
	return true
}

// isAlpha: [A-Za-z]+
func isAlpha(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
