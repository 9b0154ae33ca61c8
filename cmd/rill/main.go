// Command rill is the Rill broker and its tools. Run `rill -h` for the
// commands and docs/cli.md for the whole reference: every command, the
// environment, exit codes and output formats.
//
// The command tree is spf13/cobra (cmd_root.go); each tool lives in its
// tools_*.go file and builds its own cobra commands.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(runCLI(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
