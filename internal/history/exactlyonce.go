package history

import "fmt"

// CheckExactlyOnce checks a consume-transform-produce run: inputs are the
// values written to the input topic, outputs every record a
// read_committed consumer read from the output topic (one pass from the
// start). Each input must appear in the output exactly once (none lost,
// none duplicated by a retried or zombie transaction), and nothing else
// may appear (an aborted transaction's records leaking to a committed
// reader would show up as a duplicate or a stranger).
func CheckExactlyOnce(inputs []string, outputs []Read) Report {
	var rep Report
	add := func(format string, args ...any) { rep.Anomalies = append(rep.Anomalies, fmt.Sprintf(format, args...)) }
	rep.Acked, rep.Read = len(inputs), len(outputs)
	want := make(map[string]bool, len(inputs))
	for _, v := range inputs {
		want[v] = true
	}
	seen := make(map[string]Read, len(outputs))
	for _, r := range outputs {
		if first, dup := seen[r.Value]; dup {
			add("duplicate: %q in the output at %d-%d and %d-%d", r.Value, first.Partition, first.Offset, r.Partition, r.Offset)
			continue
		}
		seen[r.Value] = r
		if !want[r.Value] {
			add("stranger: %q at %d-%d is no input", r.Value, r.Partition, r.Offset)
		}
	}
	for _, v := range inputs {
		if _, ok := seen[v]; !ok {
			add("lost: input %q never reached the output", v)
		}
	}
	return rep
}
