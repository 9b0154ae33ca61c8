package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rillmq/rill/internal/version"
)

// Exit codes, as docs/cli.md lists them. Usage errors are 2 as for Go's
// flag package, getopt tools and cobra-based CLIs that separate them; a
// failure of the operation itself is 1.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, what a shell reports for Ctrl-C
)

// usageError is a mistake in the command line (unknown command or flag, a
// missing argument, a bad flag value): exit 2 with a pointer to -h.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// runCLI runs one rill command line and returns its exit code; main and
// the golden tests call it.
func runCLI(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	if args == nil {
		args = []string{} // cobra reads os.Args for nil
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		// serve's own flag set printed its usage for -h.
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "rill: %v\nRun '%s -h' for usage.\n", err, cmd.CommandPath())
		return exitUsage
	case errors.Is(err, context.Canceled) && ctx.Err() == nil && cmd != nil && cmd.Context() != nil && cmd.Context().Err() != nil:
		// Our signal context, not the caller's, was cancelled.
		fmt.Fprintln(stderr, "rill: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "rill: %v\n", err)
	return exitFailure
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rill",
		Short: "Rill: a Kafka-compatible broker, and tools for any Kafka cluster",
		Long: `Rill: a Kafka-compatible broker, and tools for any Kafka cluster.

Client tools connect to --bootstrap HOST:PORT,..., else bootstrap.servers of
--command-config FILE, else $RILL_BROKERS, else 127.0.0.1:9092.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Tools are interruptible: Ctrl-C or SIGTERM cancels the command's
		// context, and the tool cleans up (a group consumer leaves its
		// group) before exiting. serve handles its own signals.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Name() == "serve" {
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			go func() {
				<-ctx.Done()
				// A second Ctrl-C kills the process the default way,
				// should cleanup hang.
				stop()
			}()
			cmd.SetContext(ctx)
			return nil
		},
	}
	// rill --version, as most CLIs answer it; `rill version` says more.
	root.Version = version.Get().Version
	root.SetVersionTemplate("rill {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{suggestFlag(c, err)} })
	groupCmd(root)
	root.AddCommand(
		newServeCmd(),
		newSegdumpCmd(),
		newVersionCmd(),
		newTopicCmd(),
		newProduceCmd(),
		newConsumeCmd(),
		newGroupCmd(),
		newTxnCmd(),
		newACLCmd(),
		newUserCmd(),
		newQuotaCmd(),
		newConfigCmd(),
		newClusterCmd(),
		newFeaturesCmd(),
		newPartitionCmd(),
		newLogDirsCmd(),
		newBenchCmd(),
	)
	return root
}

// groupCmd makes c a command that only holds subcommands: alone it prints
// its help (exit 0, as rpk does); with an argument that names no
// subcommand it is a usage error with cobra's suggestions. (Cobra itself
// prints help and exits 0 for `rill topic bogus`.)
func groupCmd(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2 // cobra's own default, applied only on its path
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{errors.New(msg)}
	}
	return c
}

// minArgs and noArgs are cobra's positional checks as usage errors naming
// what is missing.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("%s: name %s", commandName(c), what)
		}
		return nil
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s: unexpected arguments %v", commandName(c), args)
	}
	return nil
}

// commandName is the command path without "rill", for errors that
// runCLI prefixes with "rill: ".
func commandName(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// newServeCmd hands its arguments to runServe untouched: serve parses its
// own flags (serve.go), so -h prints serve's flag set.
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "serve [--data-dir DIR] [--listen HOST:PORT] [--config FILE] [--set key=value]...",
		Short:              "run a broker",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return runServe(args)
		},
	}
}
