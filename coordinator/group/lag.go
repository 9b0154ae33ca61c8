package group

import "github.com/rillmq/rill/internal/kafka"

// GroupOffset is one committed offset of a group this coordinator serves.
type GroupOffset struct {
	Group string
	kafka.TopicPartition
	Offset int64
}

// CommittedOffsets lists the committed offsets of every live group whose
// partition of __consumer_offsets this coordinator has loaded, for the
// consumer lag gauges. A group being loaded shows what the load has read;
// pending transactional offsets are not included (they are not committed
// yet).
func (c *Coordinator) CommittedOffsets() []GroupOffset {
	var out []GroupOffset
	c.read(func(s *groups) {
		for _, g := range s.byID {
			if g.state == Dead {
				continue
			}
			for tp, o := range g.offsets {
				out = append(out, GroupOffset{Group: g.id, TopicPartition: tp, Offset: o.Offset})
			}
		}
	})
	return out
}
