package handler

// DescribeLogDirs (key 35), v0-v5.
//
// One log directory (the data directory). A null topic list means every
// partition. Size is each partition's bytes on disk; OffsetLag is 0 (there
// are no future replicas). v4 adds the file system's total and usable
// bytes. v5 (KIP-1066, Kafka 4.3) adds IsCordoned: always false, Rill
// has no cordoned log directories (no `cordoned.log.dirs`; one directory). Authorization: DESCRIBE on the cluster, else no directories and
// (v3+) CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeLogDirs(ctx context.Context, req *kmsg.DescribeLogDirsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !b.access(ctx).cluster(authz.OpDescribe) {
		resp.ErrorCode = errClusterDenied.Code
		return resp
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = b.engine.DataDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir.Dir, &st); err == nil {
		dir.TotalBytes = int64(st.Blocks) * st.Bsize
		dir.UsableBytes = int64(st.Bavail) * st.Bsize
	} else {
		dir.TotalBytes, dir.UsableBytes = -1, -1
	}
	want := map[kafka.TopicPartition]bool{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			want[kafka.TopicPartition{Topic: t.Topic, Partition: p}] = true
		}
	}
	byTopic := map[string]int{}
	for _, tp := range b.engine.Partitions() {
		if req.Topics != nil && !want[tp] {
			continue
		}
		l, err := b.engine.Partition(tp)
		if err != nil {
			continue
		}
		i, ok := byTopic[tp.Topic]
		if !ok {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = tp.Topic
			dir.Topics = append(dir.Topics, t)
			i = len(dir.Topics) - 1
			byTopic[tp.Topic] = i
		}
		p := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		p.Partition, p.Size = tp.Partition, l.Size()
		dir.Topics[i].Partitions = append(dir.Topics[i].Partitions, p)
	}
	resp.Dirs = append(resp.Dirs, dir)
	return resp
}
