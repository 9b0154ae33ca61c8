// Package kafka holds the names every layer shares: a topic partition.
// It imports only the standard library, so the engine, the replication
// and coordinator packages and the handlers all use the one type.
package kafka

import (
	"strconv"
	"strings"
)

// TopicPartition names a partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String is "<topic>-<partition>", as Kafka prints a partition.
func (tp TopicPartition) String() string { return tp.Topic + "-" + strconv.Itoa(int(tp.Partition)) }

// DirName is the partition's directory name, as Kafka names it.
func (tp TopicPartition) DirName() string { return tp.String() }

// ParseDirName splits "<topic>-<partition>"; topics may contain '-'.
func ParseDirName(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}
