package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rillmq/rill/internal/brokerconf"
)

// brokerConfig is the broker's configuration: Kafka's property names,
// checked against the key table of package brokerconf as they are read
// (from the defaults, a properties file, KAFKA_ environment variables with
// --env-config, and --set, in rising precedence).
type brokerConfig struct {
	// settings are the values with their sources (for --print-config and
	// DescribeConfigs).
	settings *brokerconf.Settings
	// props are the values set, by key: what the readers of Kafka's names
	// (get, listeners, TLS, SASL) take, each with its own default.
	props map[string]string
	// scram is what SASL listeners check SCRAM exchanges against: the
	// broker runtime installs its view of the metadata log's credentials.
	scram scramStoreRef
	// checking is set while the settings are only validated (before
	// anything is opened): nothing that runs on is started then (the
	// JWKS refresh).
	checking bool
}

func newBrokerConfig() *brokerConfig {
	return &brokerConfig{settings: brokerconf.NewSettings(), props: map[string]string{}}
}

// configSources are where rill serve reads its settings from.
type configSources struct {
	file    string   // --config
	env     []string // os.Environ() with --env-config, else nil
	sets    []string // --set key=value
	dataDir string   // --data-dir: log.dirs
	listen  string   // --listen: listeners=PLAINTEXT://listen
}

// loadBrokerConfig reads every source, reporting every bad key and value
// at once, then applies the rules between keys (broker.id, log.dirs).
func loadBrokerConfig(src configSources) (*brokerConfig, error) {
	c := newBrokerConfig()
	var errs []error
	if src.file != "" {
		errs = append(errs, c.loadProperties(src.file))
	}
	for _, e := range brokerconf.FromEnviron(src.env) {
		errs = append(errs, c.settings.Set(e.Key, e.Value, brokerconf.FromEnv, "environment variable "+e.Variable))
	}
	for _, kv := range src.sets {
		errs = append(errs, c.set(kv, brokerconf.FromFlag, "--set "+kv))
	}
	if src.dataDir != "" {
		errs = append(errs, c.settings.SetDataDir(src.dataDir, brokerconf.FromFlag, "--data-dir"))
	}
	if src.listen != "" {
		errs = append(errs, c.settings.Set("listeners", "PLAINTEXT://"+src.listen, brokerconf.FromFlag, "--listen"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.settings.Resolve(); err != nil {
		return nil, err
	}
	c.props = c.settings.Props()
	return c, nil
}

// loadProperties reads a Java-style properties file (key=value or key:
// value, '#' and '!' comments).
func (c *brokerConfig) loadProperties(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	var errs []error
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		errs = append(errs, c.set(s, brokerconf.FromFile, fmt.Sprintf("%s:%d", path, line)))
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return errors.Join(errs...)
}

func (c *brokerConfig) set(kv string, src brokerconf.Source, origin string) error {
	i := strings.IndexAny(kv, "=:")
	if i <= 0 {
		return fmt.Errorf("%s: want key=value, got %q", origin, kv)
	}
	return c.settings.Set(kv[:i], kv[i+1:], src, origin)
}

// dataDir is the data directory: log.dirs, else log.dir (one directory;
// Resolve refused a list).
func (c *brokerConfig) dataDir() string {
	if v, ok := c.settings.Get("log.dirs"); ok {
		return v
	}
	v, _ := c.settings.Get("log.dir")
	return v
}
