package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// scopeFlags hides the flags of c that do not apply to subcommand sub and
// rejects them when given. scope maps a flag name to the comma-separated
// subcommands it applies to; flags not in scope apply to all. It lets a
// tool's subcommands share one registration (and one body) while each
// subcommand's -h lists only its own flags.
func scopeFlags(c *cobra.Command, sub string, scope map[string]string) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if subs, ok := scope[f.Name]; ok && !slices.Contains(strings.Split(subs, ","), sub) {
			f.Hidden = true
		}
	})
	prev := c.PreRunE
	c.PreRunE = func(c *cobra.Command, args []string) error {
		var bad error
		c.Flags().Visit(func(f *pflag.Flag) {
			if f.Hidden && bad == nil {
				bad = usageErrorf("unknown flag: --%s (not a flag of %s)", f.Name, c.CommandPath())
			}
		})
		if bad != nil {
			return bad
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

// boolValueFlag makes a flag registered with Var take no value, as a Go
// flag.Value with IsBoolFlag does.
func boolValueFlag(fs *pflag.FlagSet, name string) {
	fs.Lookup(name).NoOptDefVal = "true"
}
