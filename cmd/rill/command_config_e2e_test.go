package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rillmq/rill/internal/testcerts"
)

// writeClientProps writes Kafka client properties to a file in dir and
// returns its path.
func writeClientProps(t *testing.T, dir, name string, props map[string]string) string {
	t.Helper()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# written by " + t.Name() + "\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, strings.ReplaceAll(props[k], `\`, `\\`))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rillOutErr runs a tool and returns its standard output, its standard
// error and how it exited.
func rillOutErr(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(rillBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// Every client tool, and rill bench, connects with --command-config: a
// Kafka client properties file for a SASL_SSL listener (SCRAM-SHA-512, the
// brokers from bootstrap.servers) and one for a mutual-TLS listener (a
// PKCS12 key store; --bootstrap wins over a dead bootstrap.servers). Keys
// the tools do not read are warned about once; a file naming an unknown
// mechanism or a missing trust store fails, naming the key.
func TestCommandConfig(t *testing.T) {
	ca := testcerts.New(t, testcerts.Options{})
	server := ca.MustServer(t, "broker")
	internal, ssl, saslSSL := freePort(t), freePort(t), freePort(t)
	args := []string{
		"--set", "listeners=INTERNAL://" + internal + ",SSL://" + ssl + ",SASL_SSL://" + saslSSL,
		"--set", "listener.security.protocol.map=INTERNAL:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
		"--set", "inter.broker.listener.name=INTERNAL",
		"--set", "listener.name.ssl.ssl.client.auth=required",
		"--set", "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
		// The ACL tool needs an authorizer; both test principals are super
		// users, as is the PLAINTEXT listener's ANONYMOUS.
		"--set", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"--set", "super.users=User:ANONYMOUS;User:alice;User:CN=ops",
	}
	serverProps := ca.ServerProps(server, testcerts.PEMFiles)
	args = append(args, listenerSets("SSL", serverProps)...)
	args = append(args, listenerSets("SASL_SSL", serverProps)...)
	b := serveArgs(t, t.TempDir(), args...)

	// The SCRAM user, made over the PLAINTEXT listener.
	if out := rill(t, "", "user", "create", "--bootstrap="+internal, "--user", "alice", "--password", "alice secret",
		"--mechanism", "SCRAM-SHA-512", "--iterations", "4096"); !strings.Contains(out, "created SCRAM-SHA-512 credential of alice") {
		t.Fatalf("user create: %s", out)
	}

	dir := t.TempDir()
	saslProps := ca.ClientProps(nil, testcerts.PEMFiles)
	saslProps["security.protocol"] = "SASL_SSL"
	saslProps["sasl.mechanism"] = "SCRAM-SHA-512"
	saslProps["sasl.jaas.config"] = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice secret";`
	saslProps["bootstrap.servers"] = saslSSL
	saslProps["client.id"] = "rill-command-config"
	saslProps["acks"] = "all" // a producer setting the tools do not read
	saslFile := writeClientProps(t, dir, "sasl-ssl.properties", saslProps)

	mtlsProps := ca.ClientProps(ca.MustClient(t, "ops"), testcerts.PKCS12)
	mtlsProps["bootstrap.servers"] = "127.0.0.1:1" // nothing there: --bootstrap must win
	mtlsFile := writeClientProps(t, dir, "mtls.properties", mtlsProps)

	// The two connections side by side (the tools are race-built binaries,
	// each exit a second long).
	t.Run("tools", func(t *testing.T) {
		for _, c := range []struct {
			name string
			conn []string // the connection flags
			warn string   // the only line about --command-config on stderr
		}{
			{"sasl-ssl", []string{"--command-config", saslFile}, "rill: --command-config: ignoring acks\n"},
			{"mtls", []string{"--command-config=" + mtlsFile, "--bootstrap", ssl}, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				run := func(stdin string, args ...string) string {
					t.Helper()
					// The connection flags go before any positional
					// argument: after the tool and its subcommand.
					n := 2
					if args[0] == "produce" || args[0] == "consume" {
						n = 1
					}
					args = append(append(append([]string(nil), args[:n]...), c.conn...), args[n:]...)
					out, errOut, err := rillOutErr(t, stdin, args...)
					if err != nil {
						t.Fatalf("rill %v: %v\n%s%s\nbroker:\n%s", args, err, out, errOut, b.log())
					}
					warned := strings.Count(errOut, "--command-config")
					if c.warn == "" && warned > 0 || c.warn != "" && (warned != 1 || !strings.Contains(errOut, c.warn)) {
						t.Fatalf("rill %v: stderr %q, want %q once", args, errOut, c.warn)
					}
					return out
				}
				topic, group := "cc-"+c.name, "cc-group-"+c.name
				if out := run("", "topic", "create", "--partitions", "2", topic); !strings.Contains(out, "created "+topic+" (2 partitions") {
					t.Fatalf("topic create: %s", out)
				}
				if out := run("", "topic", "list"); !strings.Contains(out, topic+"\n") {
					t.Fatalf("topic list: %s", out)
				}
				if out := run("", "topic", "describe", topic); !strings.Contains(out, "Topic: "+topic) || !strings.Contains(out, "PartitionCount: 2") {
					t.Fatalf("topic describe: %s", out)
				}
				var in strings.Builder
				for i := 0; i < 20; i++ {
					fmt.Fprintf(&in, "k%d:v%02d\n", i%4, i)
				}
				run(in.String(), "produce", "--topic", topic, "--key-separator", ":")
				out := run("", "consume", "--topic", topic, "--group", group, "--from", "earliest", "--count", "20", "--format", `%k=%v\n`)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				sort.Strings(lines)
				if len(lines) != 20 || lines[0] != "k0=v00" || lines[19] != "k3=v19" {
					t.Fatalf("consumed:\n%s", out)
				}
				if out := run("", "group", "list"); !strings.Contains(out, group) {
					t.Fatalf("group list: %s", out)
				}
				desc := run("", "group", "describe", group)
				if !strings.Contains(desc, "Group: "+group) || strings.Count(desc, topic+" ") != 2 {
					t.Fatalf("group describe:\n%s", desc)
				}
				for _, l := range strings.Split(desc, "\n") {
					if f := strings.Fields(l); len(f) >= 5 && f[0] == topic && f[4] != "0" {
						t.Fatalf("lag left after consuming everything:\n%s", desc)
					}
				}
				if out := run("", "acl", "create", "--allow-principal", "User:bob", "--operation", "Read", "--topic", topic); !strings.Contains(out, "created") {
					t.Fatalf("acl create: %s", out)
				}
				if out := run("", "acl", "list", "--topic", topic); !strings.Contains(out, "User:bob") || !strings.Contains(out, topic) {
					t.Fatalf("acl list: %s", out)
				}
				if out := run("", "user", "list"); !strings.Contains(out, "alice\tSCRAM-SHA-512 iterations=4096") {
					t.Fatalf("user list: %s", out)
				}
				bench := run("", "bench", "produce", "--topic", "cc-bench-"+c.name, "--records", "2000", "--record-size", "100",
					"--partitions", "1", "--timeout", "30s")
				if !strings.Contains(bench, "produce: 2000 records") {
					t.Fatalf("bench produce: %s", bench)
				}
				bench = run("", "bench", "consume", "--topic", "cc-bench-"+c.name, "--records", "2000", "--timeout", "30s")
				if !strings.Contains(bench, "consume: 2000 records") {
					t.Fatalf("bench consume: %s", bench)
				}
			})
		}
	})

	// Files that cannot be honoured: the error names the key, for the
	// admin tools and for bench alike.
	badMech := withProps(saslProps, map[string]string{"sasl.mechanism": "SCRAM-SHA-1"})
	noTrust := withProps(mtlsProps, map[string]string{"ssl.truststore.location": filepath.Join(dir, "missing.p12")})
	for _, c := range []struct {
		name, file, key string
	}{
		{"unknown mechanism", writeClientProps(t, dir, "bad-mechanism.properties", badMech), "sasl.mechanism"},
		{"missing trust store", writeClientProps(t, dir, "no-truststore.properties", noTrust), "ssl.truststore.location"},
		{"missing file", filepath.Join(dir, "absent.properties"), "absent.properties"},
	} {
		for _, args := range [][]string{
			{"topic", "list", "--bootstrap", saslSSL},
			{"bench", "produce", "--bootstrap", saslSSL, "--records", "10"},
		} {
			out, errOut, err := rillOutErr(t, "", append(args, "--command-config", c.file)...)
			if err == nil || !strings.Contains(errOut, "--command-config") || !strings.Contains(errOut, c.key) {
				t.Fatalf("%s, rill %v: %v, stdout %q, stderr %q: want a failure naming %s", c.name, args, err, out, errOut, c.key)
			}
		}
	}
	// Every tool's -h documents the flag (on stdout: help asked for is
	// the command's output).
	for _, args := range [][]string{{"topic", "create"}, {"produce"}, {"consume"}, {"group", "list"}, {"txn", "list"},
		{"acl", "list"}, {"user", "list"}, {"bench", "produce"}, {"config", "describe"}, {"cluster", "health"},
		{"partition", "reassign"}, {"partition", "elect"}, {"log-dirs"}} {
		helpOut, _, err := rillOutErr(t, "", append(args, "-h")...)
		if err != nil || !strings.Contains(helpOut, "--command-config") || !strings.Contains(helpOut, "sasl.jaas.config") {
			t.Errorf("rill %v -h (%v) does not document --command-config:\n%s", args, err, helpOut)
		}
	}

	// The file's credentials are what the broker checks.
	wrong := withProps(saslProps, map[string]string{"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="wrong";`})
	if out, errOut, err := rillOutErr(t, "", "topic", "list", "--timeout", "10s", "--command-config", writeClientProps(t, dir, "wrong.properties", wrong)); err == nil ||
		!strings.Contains(errOut, "SASL_AUTHENTICATION_FAILED") {
		t.Fatalf("wrong password: %v, stdout %q, stderr %q", err, out, errOut)
	}
	b.stop()
}

// withProps is base with over applied, as a new map.
func withProps(base, over map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}
