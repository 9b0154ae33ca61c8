package brokerconf

import (
	"fmt"
	"strings"
)

// Markdown renders the table for docs/configuration.md: one row per key,
// the implemented keys first, then the accepted-but-ignored ones.
func Markdown() string {
	var b strings.Builder
	for _, section := range []struct {
		title  string
		status Status
	}{{"Keys Rill implements", Implemented}, {"Kafka keys accepted and ignored (a warning each at start)", Ignored}} {
		fmt.Fprintf(&b, "### %s\n\n", section.title)
		b.WriteString("| Key | Type | Default | Valid values | Description |\n|---|---|---|---|---|\n")
		for _, k := range Keys {
			if k.Status != section.status {
				continue
			}
			def := "`" + k.Default + "`"
			switch {
			case k.NoDefault:
				def = "(unset)"
			case k.Default == "":
				def = "(empty)"
			}
			doc := k.Doc
			if k.Rill {
				doc = "Rill's own key. " + doc
			}
			if k.PerListener {
				doc += " Also per listener: `listener.name.<listener>." + k.Name + "`."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, def, escape(k.RangeText()), escape(doc))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
