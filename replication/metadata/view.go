package metadata

import (
	"github.com/rillmq/rill/engine/log"
)

// The broker's view of the cluster metadata, as the handlers read it
// (package broker serves it from the metadata image).

// Broker is a live broker and where clients reach it. Host and Port are
// its inter-broker listener's advertised address; Listeners are all of its
// listeners (none: a broker registered before listeners were, reached at
// Host:Port on every listener).
type Broker struct {
	ID        int32
	Host      string
	Port      int32
	Rack      string
	Listeners []Endpoint
}

// Endpoint is a broker's advertised address on one listener.
type Endpoint struct {
	Name string
	Host string
	Port int32
}

// Endpoint is the broker's advertised address on the named listener
// (name "": its inter-broker address); ok is false when the broker has no
// such listener.
func (b Broker) Endpoint(name string) (host string, port int32, ok bool) {
	if name == "" || len(b.Listeners) == 0 {
		return b.Host, b.Port, true
	}
	for _, e := range b.Listeners {
		if e.Name == name {
			return e.Host, e.Port, true
		}
	}
	return "", 0, false
}

// Partition is a partition's replicas and leadership as this broker acts
// on them (Leader -1: none).
type Partition struct {
	Leader, LeaderEpoch int32
	Replicas, ISR       []int32
	// Adding and Removing are a reassignment in progress.
	Adding, Removing []int32
}

// LogConfig is a topic's effective log config: the broker's defaults
// overlaid with the topic's overrides. An override that does not parse
// (validated when it was set, so only a hand-edited record) keeps the
// default.
func LogConfig(defaults log.Config, t Topic) log.Config {
	c := defaults
	for k, v := range t.Configs {
		_ = c.Set(k, v)
	}
	return c
}
