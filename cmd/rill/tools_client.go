package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/internal/clientconf"
)

// defaultBootstrap is where the tools connect without --bootstrap, a
// bootstrap.servers in --command-config or $RILL_BROKERS.
const defaultBootstrap = "127.0.0.1:9092"

// brokersEnv names the environment variable with the default seed brokers,
// as rpk's RPK_BROKERS: set it once per shell instead of --bootstrap on
// every command.
const brokersEnv = "RILL_BROKERS"

// commandConfigUsage documents --command-config in every tool's -h.
const commandConfigUsage = "Kafka client properties file, as kafka-*.sh --command-config and librdkafka take: " +
	"security.protocol, sasl.mechanism, sasl.jaas.config (or sasl.username and sasl.password), ssl.* key and trust stores, " +
	"client.id, bootstrap.servers (--bootstrap wins); other keys are ignored with a warning"

// toolWarnings is where the tools warn (unused --command-config keys).
var toolWarnings io.Writer = os.Stderr

// toolFlags are the flags every client tool shares, and the one place the
// tools' kgo clients are made: every client a tool makes (client, admin,
// or the options bench hands its workloads) goes through conn.
type toolFlags struct {
	bootstrap     string
	commandConfig string
	timeout       time.Duration

	resolved bool
	seeds    []string
	opts     []kgo.Opt
}

// register adds --bootstrap, --command-config and --timeout.
func (tf *toolFlags) register(fs *pflag.FlagSet) {
	tf.registerConn(fs)
	fs.DurationVar(&tf.timeout, "timeout", 30*time.Second, "give up after this long")
}

// registerConn adds --bootstrap and --command-config alone, for a tool with
// its own --timeout (bench).
func (tf *toolFlags) registerConn(fs *pflag.FlagSet) {
	fs.StringVar(&tf.bootstrap, "bootstrap", "", "broker address(es), comma separated (default: bootstrap.servers of --command-config, else $"+brokersEnv+", else "+defaultBootstrap+")")
	fs.StringVar(&tf.commandConfig, "command-config", "", commandConfigUsage)
}

// conn resolves the connection flags, once per invocation: the seed
// brokers (--bootstrap, else the file's bootstrap.servers, else
// $RILL_BROKERS, else defaultBootstrap: the more explicit wins) and the kgo options every client of the tool starts
// with (the file's TLS, SASL and client.id, then the seeds, so a later
// kgo.SeedBrokers is the only way to change them). Keys of the file the
// tools do not read are warned about on toolWarnings, once; a file that
// cannot be read or holds a value that cannot be honoured is an error
// naming the key.
func (tf *toolFlags) conn() (seeds []string, opts []kgo.Opt, err error) {
	if tf.resolved {
		return tf.seeds, tf.opts, nil
	}
	var fileSeeds []string
	if tf.commandConfig != "" {
		cc, err := clientconf.Load(tf.commandConfig)
		if err != nil {
			return nil, nil, fmt.Errorf("--command-config %s: %w", tf.commandConfig, err)
		}
		for _, k := range cc.Unused() {
			fmt.Fprintf(toolWarnings, "rill: --command-config: ignoring %s\n", k)
		}
		fileSeeds = cc.BootstrapServers
		opts = cc.KgoOpts()
	}
	switch env := os.Getenv(brokersEnv); {
	case strings.TrimSpace(tf.bootstrap) != "":
		seeds = splitList(tf.bootstrap)
	case len(fileSeeds) > 0:
		seeds = fileSeeds
	case strings.TrimSpace(env) != "":
		seeds = splitList(env)
	default:
		seeds = []string{defaultBootstrap}
	}
	opts = append(opts, kgo.SeedBrokers(seeds...))
	tf.resolved, tf.seeds, tf.opts = true, seeds, opts
	return seeds, opts, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// client is the tools' kgo client: conn's options, then extra.
func (tf *toolFlags) client(extra ...kgo.Opt) (*kgo.Client, error) {
	_, opts, err := tf.conn()
	if err != nil {
		return nil, err
	}
	return kgo.NewClient(append(append([]kgo.Opt(nil), opts...), extra...)...)
}

// admin returns an admin client and a context bounded by --timeout (and
// cancelled with parent, on Ctrl-C); done releases both.
func (tf *toolFlags) admin(parent context.Context) (*kadm.Client, context.Context, func(), error) {
	cl, err := tf.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(parent, tf.timeout)
	return kadm.NewClient(cl), ctx, func() { cancel(); cl.Close() }, nil
}
