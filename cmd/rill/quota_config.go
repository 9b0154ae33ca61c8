package main

// The broker's client quota windows, with Kafka's names:
//
//	quota.window.num                      11  windows the byte and request rates keep
//	quota.window.size.seconds              1  each window's length
//	controller.quota.window.num           11  controller_mutation_rate's burst, in windows
//	controller.quota.window.size.seconds   1  that window's length
//
// The quotas themselves are in the metadata log (rill quota alter,
// AlterClientQuotas); every broker enforces them on its own traffic.

import (
	"fmt"
	"time"

	"github.com/rillmq/rill/netserver/quota"
)

// quotaManager is the broker's quota enforcement, with its windows from
// the config.
func (c *brokerConfig) quotaManager() (*quota.Manager, error) {
	qc := quota.DefaultConfig()
	for _, w := range []struct {
		num, size string
		samples   *int
		window    *time.Duration
	}{
		{"quota.window.num", "quota.window.size.seconds", &qc.Samples, &qc.Window},
		{"controller.quota.window.num", "controller.quota.window.size.seconds", &qc.MutationSamples, &qc.MutationWindow},
	} {
		n, err := c.int64(w.num, int64(*w.samples))
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 1<<16 {
			return nil, fmt.Errorf("config %s: %d is outside [1, 65536]", w.num, n)
		}
		secs, err := c.int64(w.size, int64(w.window.Seconds()))
		if err != nil {
			return nil, err
		}
		if secs < 1 || secs > 3600 {
			return nil, fmt.Errorf("config %s: %d is outside [1, 3600]", w.size, secs)
		}
		*w.samples, *w.window = int(n), time.Duration(secs)*time.Second
	}
	return quota.New(qc), nil
}
