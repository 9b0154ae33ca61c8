package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/cli/*.golden with the current output")

// The help and error texts of the command line, in process (no broker):
// each case's exit code, stdout and stderr are compared with
// testdata/cli/NAME.golden. Run with -update after a deliberate change
// and review the diff.
func TestCLIGolden(t *testing.T) {
	t.Setenv(brokersEnv, "")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"root_help", []string{"-h"}},
		{"root_bare", nil},
		{"topic_help", []string{"topic", "-h"}},
		{"topic_bare", []string{"topic"}},
		{"topic_create_help", []string{"topic", "create", "-h"}},
		{"help_topic_create", []string{"help", "topic", "create"}},
		{"bench_help", []string{"bench", "--help"}},
		{"unknown_command", []string{"topik"}},
		{"unknown_subcommand", []string{"topic", "crate"}},
		{"unknown_flag", []string{"topic", "create", "--partitons", "3", "t"}},
		{"flag_of_another_subcommand", []string{"topic", "list", "--partitions", "3"}},
		{"missing_arg", []string{"topic", "create"}},
		{"bad_flag_value", []string{"topic", "create", "--partitions", "many", "t"}},
		{"unexpected_arg", []string{"group", "list", "extra"}},
		{"bad_format", []string{"cluster", "health", "--format", "yaml"}},
		{"consume_without_topic", []string{"consume"}},
		{"config_bad_target", []string{"config", "describe", "cluster"}},
		{"features_help", []string{"features", "-h"}},
		{"features_describe_help", []string{"features", "describe", "-h"}},
		{"features_downgrade_help", []string{"features", "downgrade", "-h"}},
		{"features_without_feature", []string{"features", "upgrade"}},
		{"features_bad_level", []string{"features", "upgrade", "--feature", "transaction.version=high"}},
		{"features_unsafe_upgrade", []string{"features", "upgrade", "--feature", "transaction.version=2", "--unsafe"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runCLI(context.Background(), c.args, strings.NewReader(""), &stdout, &stderr)
			got := fmt.Sprintf("$ rill %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(c.args, " "), code, stdout.String(), stderr.String())
			path := filepath.Join("testdata", "cli", c.name+".golden")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}
