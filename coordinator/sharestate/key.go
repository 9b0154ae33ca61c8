package sharestate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rillmq/rill/internal/kafka"
)

// TopicName is the share coordinator's internal topic.
const TopicName = "__share_group_state"

// Key is one share partition: a share group's view of one topic
// partition (Kafka's SharePartitionKey).
type Key struct {
	Group     string
	TopicID   [16]byte
	Partition int32
}

// String is the coordinator key of k, as Kafka's
// SharePartitionKey.asCoordinatorKey: "group:topicId:partition", the topic
// id in Kafka's Uuid.toString form (URL-safe base64, no padding).
func (k Key) String() string {
	return k.Group + ":" + TopicIDString(k.TopicID) + ":" + strconv.Itoa(int(k.Partition))
}

// TopicIDString is Kafka's Uuid.toString of a topic id.
func TopicIDString(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// ErrBadKey is a coordinator key that is not "group:topicId:partition".
var ErrBadKey = errors.New("sharestate: invalid share partition key")

// ParseKey reads a FindCoordinator key of type 2 as Kafka's
// SharePartitionKey.validate and getInstance do: exactly three
// colon-separated parts (trailing empty parts dropped, as Java's split),
// a group id that is not blank (it is trimmed), a topic id Kafka's
// Uuid.fromString accepts (at most 24 characters of base64, 16 bytes) and
// a partition Integer.parseInt accepts.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, ":")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) != 3 {
		return Key{}, fmt.Errorf("%w: expected group:topicId:partition, found %q", ErrBadKey, s)
	}
	group := strings.TrimSpace(parts[0])
	if group == "" {
		return Key{}, fmt.Errorf("%w: empty group id in %q", ErrBadKey, s)
	}
	id, err := ParseTopicID(parts[1])
	if err != nil {
		return Key{}, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	p, err := strconv.ParseInt(parts[2], 10, 32)
	if err != nil {
		return Key{}, fmt.Errorf("%w: invalid partition %q", ErrBadKey, parts[2])
	}
	return Key{Group: group, TopicID: id, Partition: int32(p)}, nil
}

// ParseTopicID is Kafka's Uuid.fromString: URL-safe base64 of 16 bytes,
// padded or not, at most 24 characters.
func ParseTopicID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) > 24 {
		return id, fmt.Errorf("topic id %q is longer than 24 characters", s)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("invalid topic id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// parseRecordKey reads the coordinator key string of a record, from the
// right: the group id may itself hold colons (Kafka's FindCoordinator
// would refuse such a key, but the APIs 83-87 name the group apart).
func parseRecordKey(s string) (Key, error) {
	j := strings.LastIndexByte(s, ':')
	if j < 0 {
		return Key{}, ErrBadKey
	}
	i := strings.LastIndexByte(s[:j], ':')
	if i < 0 {
		return Key{}, ErrBadKey
	}
	id, err := ParseTopicID(s[i+1 : j])
	if err != nil {
		return Key{}, err
	}
	p, err := strconv.ParseInt(s[j+1:], 10, 32)
	if err != nil {
		return Key{}, err
	}
	return Key{Group: s[:i], TopicID: id, Partition: int32(p)}, nil
}

// PartitionFor is the __share_group_state partition of a coordinator key
// string, where Kafka puts it (ShareCoordinatorService.partitionFor:
// abs(key.asCoordinatorKey().hashCode()) % partitions).
func PartitionFor(key string, partitions int32) int32 {
	return kafka.PartitionFor(key, partitions)
}
