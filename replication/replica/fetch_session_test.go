package replica

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
)

func posAt(topic string, partition int32, offset int64) fetchPosition {
	return fetchPosition{p: &Partition{tp: kafka.TopicPartition{Topic: topic, Partition: partition}}, offset: offset, leaderEpoch: 1, lastEpoch: -1}
}

// describeFetch renders a follower's request: session, epoch, partitions
// named and forgotten.
func describeFetch(req *kmsg.FetchRequest) string {
	var parts, forgotten []string
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, fmt.Sprintf("%s%d@%d", t.Topic, p.Partition, p.FetchOffset))
		}
	}
	for _, t := range req.ForgottenTopics {
		for _, p := range t.Partitions {
			forgotten = append(forgotten, fmt.Sprintf("%s%d", t.Topic, p))
		}
	}
	slices.Sort(parts)
	slices.Sort(forgotten)
	return fmt.Sprintf("id=%d epoch=%d [%s] forget [%s]", req.SessionID, req.SessionEpoch, strings.Join(parts, " "), strings.Join(forgotten, " "))
}

func TestFollowerSession(t *testing.T) {
	answer := func(id int32, code int16) *kmsg.FetchResponse {
		r := kmsg.NewPtrFetchResponse()
		r.SessionID, r.ErrorCode = id, code
		return r
	}
	var s followerSession
	for _, step := range []struct {
		name      string
		addr      string
		positions []fetchPosition
		want      string
		resp      *kmsg.FetchResponse // nil: transport error
	}{
		{"first is full", "b1", []fetchPosition{posAt("a", 0, 5), posAt("a", 1, 7)}, "id=0 epoch=0 [a0@5 a1@7] forget []", answer(42, 0)},
		{"nothing changed: empty incremental", "b1", []fetchPosition{posAt("a", 0, 5), posAt("a", 1, 7)}, "id=42 epoch=1 [] forget []", answer(42, 0)},
		{"moved partition named", "b1", []fetchPosition{posAt("a", 0, 9), posAt("a", 1, 7)}, "id=42 epoch=2 [a0@9] forget []", answer(42, 0)},
		{"added and dropped", "b1", []fetchPosition{posAt("a", 0, 9), posAt("b", 0, 0)}, "id=42 epoch=3 [b0@0] forget [a1]", answer(42, 0)},
		{"transport error", "b1", []fetchPosition{posAt("a", 0, 9), posAt("b", 0, 0)}, "id=42 epoch=4 [] forget []", nil},
		{"full after a transport error", "b1", []fetchPosition{posAt("a", 0, 9), posAt("b", 0, 0)}, "id=0 epoch=0 [a0@9 b0@0] forget []", answer(43, 0)},
		{"session error", "b1", []fetchPosition{posAt("a", 0, 9), posAt("b", 0, 0)}, "id=43 epoch=1 [] forget []", answer(0, kerr.FetchSessionIDNotFound.Code)},
		{"full after a session error", "b1", []fetchPosition{posAt("a", 0, 9)}, "id=0 epoch=0 [a0@9] forget []", answer(0, 0)},
		{"leader keeps no session: full again", "b1", []fetchPosition{posAt("a", 0, 10)}, "id=0 epoch=0 [a0@10] forget []", answer(44, 0)},
		{"another leader address: full", "b2", []fetchPosition{posAt("a", 0, 10)}, "id=0 epoch=0 [a0@10] forget []", answer(45, 0)},
		{"and incremental with it", "b2", []fetchPosition{posAt("a", 0, 10)}, "id=45 epoch=1 [] forget []", answer(45, 0)},
	} {
		req := s.request(step.addr, step.positions, 1<<20)
		if got := describeFetch(req); got != step.want {
			t.Errorf("%s: %s, want %s", step.name, got, step.want)
		}
		s.answered(step.resp)
	}
	if got := nextSessionEpoch(1<<31 - 1); got != 1 {
		t.Errorf("epoch after MaxInt32: %d", got)
	}
}
