package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rillmq/rill/internal/textdist"
)

// suggestFlag adds "did you mean --x?" to pflag's unknown-flag error, as
// cobra does for commands: the command's visible flags within edit
// distance 2 of the mistyped one, or starting with it.
func suggestFlag(c *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	var near []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && (textdist.Levenshtein(name, f.Name) <= 2 || strings.HasPrefix(f.Name, name)) {
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return err
	}
	return errors.New(err.Error() + "; did you mean " + strings.Join(near, " or ") + "?")
}
