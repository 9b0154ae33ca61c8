package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// BrokerInfo is a registered broker.
type BrokerInfo struct {
	ID     int32
	Host   string
	Port   int32
	Rack   string
	Fenced bool
	// Incarnation tells one run of a broker process from the next.
	Incarnation string `json:",omitempty"`
	// Listeners are the broker's advertised listeners, the inter-broker
	// one (Host and Port) first. A record written before listeners were
	// registered has none: the broker is at Host:Port on every listener.
	Listeners []Endpoint `json:",omitempty"`
}

// Endpoint is one advertised listener of a broker.
type Endpoint struct {
	Name string
	Host string
	Port int32
	// Protocol is Kafka's security protocol id (0: PLAINTEXT).
	Protocol int16 `json:",omitempty"`
}

// Equal reports whether two registrations are the same.
func (b BrokerInfo) Equal(o BrokerInfo) bool {
	return b.ID == o.ID && b.Host == o.Host && b.Port == o.Port && b.Rack == o.Rack && b.Fenced == o.Fenced &&
		b.Incarnation == o.Incarnation && slices.Equal(b.Listeners, o.Listeners)
}

// PartitionState is one partition's replicas and leadership.
type PartitionState struct {
	Replicas       []int32
	ISR            []int32
	Leader         int32 // -1: none
	LeaderEpoch    int32
	PartitionEpoch int32
	// Adding and Removing are a reassignment in progress: Replicas holds
	// both the target replicas and those being removed until every target
	// replica is in the ISR.
	Adding   []int32 `json:",omitempty"`
	Removing []int32 `json:",omitempty"`
}

func (p PartitionState) clone() PartitionState {
	p.Replicas, p.ISR = slices.Clone(p.Replicas), slices.Clone(p.ISR)
	p.Adding, p.Removing = slices.Clone(p.Adding), slices.Clone(p.Removing)
	return p
}

// Reassigning reports a reassignment in progress.
func (p PartitionState) Reassigning() bool { return len(p.Adding) > 0 || len(p.Removing) > 0 }

// Target is the replica set the partition is moving to (its replicas
// when it is not moving).
func (p PartitionState) Target() []int32 {
	return slices.DeleteFunc(slices.Clone(p.Replicas), func(r int32) bool { return slices.Contains(p.Removing, r) })
}

// TopicInfo is a topic and its partitions.
type TopicInfo struct {
	Name       string
	ID         [16]byte
	Partitions []PartitionState
	// Configs are the topic's config overrides.
	Configs map[string]string `json:",omitempty"`
}

// Record is one metadata log entry; exactly one field is set.
type Record struct {
	RegisterBroker  *BrokerInfo      `json:",omitempty"`
	FenceBroker     *int32           `json:",omitempty"`
	UnfenceBroker   *int32           `json:",omitempty"`
	CreateTopic     *TopicInfo       `json:",omitempty"`
	PartitionChange *PartitionChange `json:",omitempty"`
	DeleteTopic     *string          `json:",omitempty"`
	ProducerIDs     *ProducerIDBlock `json:",omitempty"`
	AddPartitions   *AddPartitions   `json:",omitempty"`
	TopicConfigs    *TopicConfigs    `json:",omitempty"`
	// CreateACL and RemoveACL are Kafka's AccessControlEntryRecord and
	// RemoveAccessControlEntryRecord; UserScramCredential and
	// RemoveUserScramCredential its UserScramCredentialRecord and
	// RemoveUserScramCredentialRecord (security.go).
	CreateACL                 *ACL             `json:",omitempty"`
	RemoveACL                 *ACLID           `json:",omitempty"`
	UserScramCredential       *ScramCredential `json:",omitempty"`
	RemoveUserScramCredential *ScramKey        `json:",omitempty"`
	// ClientQuota is Kafka's ClientQuotaRecord (quotas.go).
	ClientQuota *ClientQuota `json:",omitempty"`
	// FeatureLevel is Kafka's FeatureLevelRecord (features.go).
	FeatureLevel *FeatureLevel `json:",omitempty"`
	// GroupConfigs replaces a group's config overrides: Kafka's
	// ConfigRecords on a GROUP resource (groupconfigs.go).
	GroupConfigs *GroupConfigs `json:",omitempty"`
}

// TopicConfigs replaces a topic's config overrides.
type TopicConfigs struct {
	Topic   string
	Configs map[string]string
}

// AddPartitions appends partitions to a topic (CreatePartitions).
type AddPartitions struct {
	Topic      string
	Partitions []PartitionState
}

// ProducerIDBlock is a range of producer ids handed to one broker
// (InitProducerId answers from it), so no two producers of the cluster
// share an id.
type ProducerIDBlock struct {
	Broker int32
	First  int64
	Size   int32
}

// PartitionChange is a partition's new state.
type PartitionChange struct {
	Topic     string
	Partition int32
	State     PartitionState
}

// ErrInvalidRecord is a record that does not apply to the image; a log
// that holds one is corrupt (the controller only proposes valid ones).
var ErrInvalidRecord = errors.New("controller: record does not apply")

// Image is the cluster metadata as of some offset of the metadata log.
type Image struct {
	Brokers map[int32]BrokerInfo
	Topics  map[string]*TopicInfo
	// NextProducerID is the first producer id no block holds yet.
	NextProducerID int64
	// ACLs are the ACLs by id; Scram the SCRAM credentials by user, then
	// mechanism. Images written before they existed have neither.
	ACLs  map[ACLID]ACLBinding                `json:",omitempty"`
	Scram map[string]map[int8]ScramCredential `json:",omitempty"`
	// ClientQuotas are the client quotas by entity, then key; images
	// written before them have none.
	ClientQuotas map[QuotaEntity]map[string]float64 `json:",omitempty"`
	// Features are the finalized feature levels (features.go); a feature
	// at level 0 is present, one never finalized absent.
	Features map[string]int16 `json:",omitempty"`
	// GroupConfigs are the groups' config overrides by group id
	// (groupconfigs.go); a group without overrides is absent. Images
	// written before them have none.
	GroupConfigs map[string]map[string]string `json:",omitempty"`
}

// Clone is a deep copy, for deciding on records not yet committed.
func (im *Image) Clone() *Image {
	c := &Image{Brokers: make(map[int32]BrokerInfo, len(im.Brokers)), Topics: make(map[string]*TopicInfo, len(im.Topics)),
		NextProducerID: im.NextProducerID}
	for id, b := range im.Brokers {
		c.Brokers[id] = b
	}
	for name, t := range im.Topics {
		tc := *t
		tc.Partitions = make([]PartitionState, len(t.Partitions))
		for i, p := range t.Partitions {
			tc.Partitions[i] = p.clone()
		}
		c.Topics[name] = &tc
	}
	im.cloneSecurity(c)
	im.cloneQuotas(c)
	c.Features = maps.Clone(im.Features)
	im.cloneGroupConfigs(c)
	return c
}

// NewImage is the empty cluster.
func NewImage() *Image {
	return &Image{Brokers: map[int32]BrokerInfo{}, Topics: map[string]*TopicInfo{}}
}

// Apply changes the image by one committed record.
func (im *Image) Apply(r Record) error {
	if ok, err := im.applySecurity(r); ok {
		return err
	}
	switch {
	case r.ClientQuota != nil:
		return im.applyQuota(r.ClientQuota)
	case r.FeatureLevel != nil:
		return im.applyFeature(r.FeatureLevel)
	case r.GroupConfigs != nil:
		return im.applyGroupConfigs(r.GroupConfigs)
	case r.RegisterBroker != nil:
		im.Brokers[r.RegisterBroker.ID] = *r.RegisterBroker
	case r.FenceBroker != nil, r.UnfenceBroker != nil:
		id, fenced := int32(0), r.FenceBroker != nil
		if fenced {
			id = *r.FenceBroker
		} else {
			id = *r.UnfenceBroker
		}
		b, ok := im.Brokers[id]
		if !ok {
			return fmt.Errorf("%w: broker %d is not registered", ErrInvalidRecord, id)
		}
		b.Fenced = fenced
		im.Brokers[id] = b
	case r.CreateTopic != nil:
		if _, ok := im.Topics[r.CreateTopic.Name]; ok {
			return fmt.Errorf("%w: topic %s exists", ErrInvalidRecord, r.CreateTopic.Name)
		}
		t := *r.CreateTopic
		t.Partitions = make([]PartitionState, len(r.CreateTopic.Partitions))
		for i, p := range r.CreateTopic.Partitions {
			t.Partitions[i] = p.clone()
		}
		im.Topics[t.Name] = &t
	case r.PartitionChange != nil:
		c := r.PartitionChange
		t, ok := im.Topics[c.Topic]
		if !ok || c.Partition < 0 || int(c.Partition) >= len(t.Partitions) {
			return fmt.Errorf("%w: partition %s-%d does not exist", ErrInvalidRecord, c.Topic, c.Partition)
		}
		t.Partitions[c.Partition] = c.State.clone()
	case r.DeleteTopic != nil:
		delete(im.Topics, *r.DeleteTopic)
	case r.AddPartitions != nil:
		t, ok := im.Topics[r.AddPartitions.Topic]
		if !ok {
			return fmt.Errorf("%w: topic %s does not exist", ErrInvalidRecord, r.AddPartitions.Topic)
		}
		for _, p := range r.AddPartitions.Partitions {
			t.Partitions = append(t.Partitions, p.clone())
		}
	case r.TopicConfigs != nil:
		t, ok := im.Topics[r.TopicConfigs.Topic]
		if !ok {
			return fmt.Errorf("%w: topic %s does not exist", ErrInvalidRecord, r.TopicConfigs.Topic)
		}
		t.Configs = maps.Clone(r.TopicConfigs.Configs)
	case r.ProducerIDs != nil:
		b := r.ProducerIDs
		if b.First < im.NextProducerID || b.Size <= 0 {
			return fmt.Errorf("%w: producer ids %d+%d overlap ids handed out before %d", ErrInvalidRecord, b.First, b.Size, im.NextProducerID)
		}
		im.NextProducerID = b.First + int64(b.Size)
	default:
		return fmt.Errorf("%w: empty record", ErrInvalidRecord)
	}
	return nil
}

// Partition returns a partition's state.
func (im *Image) Partition(topic string, p int32) (PartitionState, bool) {
	t, ok := im.Topics[topic]
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return PartitionState{}, false
	}
	return t.Partitions[p].clone(), true
}

func (im *Image) live(id int32) bool {
	b, ok := im.Brokers[id]
	return ok && !b.Fenced
}
