package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/rillmq/rill/internal/brokerconf"
)

// printConfig writes every key's effective value and where it came from
// (rill serve --print-config), passwords hidden. Keys Rill accepts but
// ignores are marked so.
func (c *brokerConfig) printConfig(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, s := range c.settings.Effective() {
		src := s.Source.String()
		k, _ := brokerconf.Lookup(s.Name)
		if k.Status == brokerconf.Ignored {
			src += " (ignored by Rill)"
		}
		v := brokerconf.Display(s.Name, s.Value)
		switch {
		case s.Source == brokerconf.FromDefault && k.NoDefault:
			v = "(unset)"
		case v == "":
			v = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, v, src)
	}
	return tw.Flush()
}
