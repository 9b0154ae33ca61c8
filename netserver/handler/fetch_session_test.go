package handler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/netserver/fetchsession"
)

// sessionAnswer is a response of topics a (partitions 0-2) and b (0-1);
// a1 and b1 have file ranges whose Pos is 100*topic+partition, and b0
// inline bytes.
func sessionAnswer() *FetchResponse {
	resp := &FetchResponse{FetchResponse: kmsg.NewPtrFetchResponse()}
	for ti, name := range []string{"a", "b"} {
		t := kmsg.NewFetchResponseTopic()
		t.Topic = name
		for p := range 3 - ti {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = int32(p)
			sp.HighWatermark = 10
			t.Partitions = append(t.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, t)
	}
	resp.Topics[1].Partitions[0].RecordBatches = []byte("inline")
	for _, at := range [][2]int{{0, 1}, {1, 1}} {
		resp.Ranges = append(resp.Ranges, FetchRange{Topic: at[0], Partition: at[1], FileRange: segment.FileRange{Pos: int64(100*at[0] + at[1]), Len: 7}})
	}
	return resp
}

// describeAnswer renders the partitions of resp and where its ranges
// point: the partition a range is renumbered to must be the one it was
// read for (Pos 100*topic+partition of the original numbering).
func describeAnswer(resp *FetchResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "session=%d err=%d", resp.SessionID, resp.ErrorCode)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, " %s%d", t.Topic, p.Partition)
		}
	}
	for _, r := range resp.Ranges {
		t := resp.Topics[r.Topic]
		fmt.Fprintf(&b, " range(%s%d)=pos%d", t.Topic, t.Partitions[r.Partition].Partition, r.Pos)
	}
	return b.String()
}

func TestAnswerFetchSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		sr   fetchsession.Response
		want string
	}{
		{"all kept", fetchsession.Response{SessionID: 5}, "session=5 err=0 a0 a1 a2 b0 b1 range(a1)=pos1 range(b1)=pos101"},
		{"a topic dropped whole, ranges renumbered", fetchsession.Response{SessionID: 5, Include: []bool{false, false, false, true, true}},
			"session=5 err=0 b0 b1 range(b1)=pos101"},
		{"partitions dropped inside topics", fetchsession.Response{SessionID: 5, Include: []bool{false, true, true, false, true}},
			"session=5 err=0 a1 a2 b1 range(a1)=pos1 range(b1)=pos101"},
		{"a range's partition dropped", fetchsession.Response{SessionID: 5, Include: []bool{true, false, false, true, false}},
			"session=5 err=0 a0 b0"},
		{"nothing changed", fetchsession.Response{SessionID: 5, Include: make([]bool, 5)}, "session=5 err=0"},
		{"session error: no partitions", fetchsession.Response{ErrorCode: kerr.InvalidFetchSessionEpoch.Code},
			fmt.Sprintf("session=0 err=%d", kerr.InvalidFetchSessionEpoch.Code)},
	} {
		resp := sessionAnswer()
		answerFetchSession(resp, tc.sr)
		if got := describeAnswer(resp); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestFetchSessionResults(t *testing.T) {
	resp := sessionAnswer()
	resp.Topics[0].Partitions[2].ErrorCode = kerr.NotLeaderForPartition.Code
	resp.Topics[1].Partitions[1].DivergingEpoch.EndOffset = 3
	var got []string
	for _, r := range fetchSessionResults(resp) {
		got = append(got, fmt.Sprintf("%d/%d/%v", r.RecordBytes, r.ErrorCode, r.Always))
	}
	want := fmt.Sprintf("0/0/false 7/0/false 0/%d/false 6/0/false 7/0/true", kerr.NotLeaderForPartition.Code)
	if strings.Join(got, " ") != want {
		t.Errorf("results %v, want %s", got, want)
	}
}
