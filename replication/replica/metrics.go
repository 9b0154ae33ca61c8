package replica

import (
	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/replication/isr"
)

// countISRChange reports an ISR change the controller accepted (Kafka's
// IsrShrinksPerSec and IsrExpandsPerSec count the leader's committed
// changes, not its attempts).
func countISRChange(ch *isr.Change, err error) {
	if err == nil {
		metrics.ISRChanged(ch.Kind == isr.Shrink)
	}
}
