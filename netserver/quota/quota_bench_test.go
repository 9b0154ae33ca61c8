package quota

import (
	"testing"
	"time"
)

// BenchmarkProducePath is what a produce request pays for quotas: Active
// alone with none set; resolution only when the quotas name others; and
// resolve, record and throttle under a quota (one connection, and many in
// parallel on one shared user quota).
func BenchmarkProducePath(b *testing.B) {
	now := time.Now()
	record := func(m *Manager, client string) time.Duration {
		if !m.Active(Produce) {
			return 0
		}
		return m.Record(Produce, "ANONYMOUS", client, 16<<10, now)
	}
	b.Run("no-quotas", func(b *testing.B) {
		m := New(Config{})
		for b.Loop() {
			record(m, "producer")
		}
	})
	b.Run("quota-for-others", func(b *testing.B) {
		m := New(Config{})
		m.SetQuotas(map[Entity]Limits{{Client: Named("other")}: limits(Produce, 1<<20)})
		for b.Loop() {
			record(m, "producer")
		}
	})
	b.Run("quota", func(b *testing.B) {
		m := New(Config{})
		m.SetQuotas(map[Entity]Limits{{Client: Named("producer")}: limits(Produce, 1<<40)})
		for b.Loop() {
			record(m, "producer")
		}
	})
	b.Run("quota-parallel", func(b *testing.B) {
		m := New(Config{})
		m.SetQuotas(map[Entity]Limits{{User: Default}: limits(Produce, 1<<40)})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				record(m, "producer")
			}
		})
	})
}
