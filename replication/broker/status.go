package broker

// The broker's status for the admin listener (/health/ready, /v1/cluster
// and the partition gauges of /metrics): read from the image and the
// runtime's state, copied out, no lock held beyond the copy.

import (
	"sort"
	"strconv"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/controller"
)

// Status is a snapshot of the broker's cluster side.
type Status struct {
	NodeID       int32
	ControllerID int32 // -1: none known
	// Ready: the broker applied metadata as new as the active
	// controller's when its session began and serves (Ready).
	Ready bool
	// MetadataOffset is the metadata log index applied here;
	// ControllerOffset the active controller's as its last answer to this
	// broker's heartbeat carried it (0 before one).
	MetadataOffset, ControllerOffset uint64
	Brokers                          []BrokerStatus
	// Failures are partitions assigned here that have no log, and why.
	Failures map[string]string
	// Partitions are every partition's state in the image, by topic,
	// with the topic's min.insync.replicas override (0: none).
	Partitions []PartitionStatus
}

// MetadataLag is how far the applied metadata is behind the controller's
// last reported offset (0 when caught up or unknown).
func (s Status) MetadataLag() uint64 {
	if s.ControllerOffset > s.MetadataOffset {
		return s.ControllerOffset - s.MetadataOffset
	}
	return 0
}

// BrokerStatus is a registered broker: Fenced is Kafka's fenced state (no
// heartbeat within the session timeout, or shut down).
type BrokerStatus struct {
	ID     int32
	Host   string
	Port   int32
	Rack   string `json:",omitempty"`
	Fenced bool
}

// PartitionStatus is one partition as the image has it. Leader is as this
// broker acts on it (-1 for its own while out of session).
type PartitionStatus struct {
	kafka.TopicPartition
	Leader        int32
	Replicas, ISR []int32
	// MinISR is the topic's min.insync.replicas override (0: the
	// broker default applies).
	MinISR int
}

// Status returns a snapshot of the broker's cluster side.
func (r *Runtime) Status() Status {
	s := Status{NodeID: r.self, ControllerID: r.ControllerID(), Ready: r.isReady.Load(), MetadataOffset: r.source.Applied(),
		ControllerOffset: r.lifecycle.controllerOffset()}
	mayLead := r.mayLead()
	r.source.View(func(im *controller.Image) {
		for _, b := range im.Brokers {
			s.Brokers = append(s.Brokers, BrokerStatus{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack, Fenced: b.Fenced})
		}
		for name, ti := range im.Topics {
			minISR, _ := strconv.Atoi(ti.Configs["min.insync.replicas"])
			for i, p := range ti.Partitions {
				s.Partitions = append(s.Partitions, PartitionStatus{TopicPartition: kafka.TopicPartition{Topic: name, Partition: int32(i)},
					Leader: r.asServed(p.Leader, mayLead), Replicas: append([]int32(nil), p.Replicas...), ISR: append([]int32(nil), p.ISR...), MinISR: minISR})
			}
		}
	})
	sort.Slice(s.Brokers, func(i, j int) bool { return s.Brokers[i].ID < s.Brokers[j].ID })
	sort.Slice(s.Partitions, func(i, j int) bool {
		a, b := s.Partitions[i], s.Partitions[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	r.mu.Lock()
	for tp, err := range r.failures {
		if s.Failures == nil {
			s.Failures = map[string]string{}
		}
		s.Failures[tp.String()] = err.Error()
	}
	r.mu.Unlock()
	return s
}

// controllerOffset is the active controller's metadata offset from its
// last answer to this broker (0 before one).
func (l *Lifecycle) controllerOffset() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.session.index
}

// Counts are the partition gauges Kafka's brokers report, from a Status.
type Counts struct {
	// Partitions is every partition in the image; Replicas those with a
	// replica on this broker (Kafka's PartitionCount); Leaders those this
	// broker leads (LeaderCount).
	Partitions, Replicas, Leaders int
	// UnderReplicated and UnderMinISR are partitions this broker leads
	// whose ISR is smaller than their replicas, or than
	// min.insync.replicas (Kafka reports both from the leader).
	UnderReplicated, UnderMinISR int
	// Offline is partitions with no leader, cluster-wide (Kafka's
	// OfflinePartitionsCount, reported by the active controller);
	// ClusterUnderReplicated is partitions whose ISR is smaller than
	// their replicas, cluster-wide.
	Offline, ClusterUnderReplicated int
}

// Counts computes the partition gauges; defaultMinISR is the broker's
// min.insync.replicas for topics without an override.
func (s Status) Counts(defaultMinISR int) Counts {
	c := Counts{Partitions: len(s.Partitions)}
	for _, p := range s.Partitions {
		under := len(p.ISR) < len(p.Replicas)
		if under {
			c.ClusterUnderReplicated++
		}
		if p.Leader < 0 {
			c.Offline++
		}
		for _, id := range p.Replicas {
			if id == s.NodeID {
				c.Replicas++
				break
			}
		}
		if p.Leader != s.NodeID {
			continue
		}
		c.Leaders++
		if under {
			c.UnderReplicated++
		}
		minISR := p.MinISR
		if minISR <= 0 {
			minISR = defaultMinISR
		}
		if len(p.ISR) < minISR {
			c.UnderMinISR++
		}
	}
	return c
}
