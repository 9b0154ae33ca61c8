package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rillmq/rill/internal/version"
)

func newVersionCmd() *cobra.Command {
	var out outputFlag
	c := &cobra.Command{
		Use:   "version",
		Short: "print rill's version, commit and Go version",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v := version.Get()
			if out.json() {
				return writeJSON(c.OutOrStdout(), v)
			}
			commit := v.Commit
			if v.Modified {
				commit += " (modified)"
			}
			_, err := fmt.Fprintf(c.OutOrStdout(), "rill %s\ncommit %s\n%s %s\n", v.Version, commit, v.GoVersion, v.Platform)
			return err
		},
	}
	out.register(c)
	return c
}
