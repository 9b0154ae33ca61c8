package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
)

// Listing is a group as ListGroups shows it.
type Listing struct {
	ID           string
	ProtocolType string
	State        State
}

// List returns every group, sorted by id.
func (c *Coordinator) List() []Listing {
	var out []Listing
	for _, g := range c.snapshot() {
		g.mu.Lock()
		if g.state != Dead {
			out = append(out, Listing{ID: g.id, ProtocolType: g.protocolType, State: g.state})
		}
		g.mu.Unlock()
	}
	return out
}

// Description is a group as DescribeGroups shows it.
type Description struct {
	ID           string
	State        State
	ProtocolType string
	// Protocol, and the members' Metadata and Assignment, are filled in
	// only when the group is Stable, as Kafka does.
	Protocol string
	Members  []MemberDescription
}

// MemberDescription is one member of a described group.
type MemberDescription struct {
	MemberID   string
	InstanceID *string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}

// Describe returns a group; ok is false for an unknown group (Kafka
// describes it as Dead).
func (c *Coordinator) Describe(id string) (d Description, ok bool) {
	g := c.lookup(id, false)
	if g == nil {
		return Description{ID: id, State: Dead}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d = Description{ID: id, State: g.state, ProtocolType: g.protocolType}
	stable := g.state == Stable
	if stable {
		d.Protocol = g.protocol
	}
	for _, mid := range g.order {
		m := g.members[mid]
		md := MemberDescription{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
		if stable {
			md.Metadata, md.Assignment = m.metadataFor(g.protocol), m.assignment
		}
		d.Members = append(d.Members, md)
	}
	return d, g.state != Dead
}

// Delete handles DeleteGroups for one group: only an empty group can go,
// with its offsets.
func (c *Coordinator) Delete(id string) error {
	g := c.lookup(id, false)
	if g == nil {
		return kerr.GroupIDNotFound
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case Dead:
		return kerr.GroupIDNotFound
	case Empty:
	default:
		return kerr.NonEmptyGroup
	}
	recs := []Record{{Key: groupKey(g.id)}}
	for tp := range g.offsets {
		recs = append(recs, Record{Key: offsetKey(g.id, tp)})
	}
	if err := c.store.Append(c.partition(g.id), recs); err != nil {
		return persistError(err)
	}
	g.offsets = map[TopicPartition]Committed{}
	g.transition(Dead, c.cfg.Now())
	c.remove(g)
	return nil
}
