package fuzz

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/internal/kafka"
)

// recordStore is a group.Store (the coordinator runtime's log) holding
// one partition's records.
type recordStore struct{ recs []group.Record }

func (s *recordStore) Append(_ int32, recs []group.Record) error {
	s.recs = append(s.recs, recs...)
	return nil
}

func (s *recordStore) Load(p int32, fn func(group.Record) error) error {
	if p != 0 {
		return nil
	}
	for _, r := range s.recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// splitRecords cuts data into key/value records: each is a 2-byte key
// length, the key, a 2-byte value length (0xffff = tombstone), the value.
func splitRecords(data []byte) []group.Record {
	var out []group.Record
	take := func() ([]byte, bool) {
		if len(data) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if n == 0xffff {
			return nil, true
		}
		n = min(n, len(data))
		b := data[:n]
		data = data[n:]
		return b, true
	}
	for len(data) > 0 {
		k, ok := take()
		if !ok {
			break
		}
		v, _ := take()
		out = append(out, group.Record{Key: k, Value: v})
	}
	return out
}

func joinRecords(recs []group.Record) []byte {
	var b []byte
	for _, r := range recs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Key)))
		b = append(b, r.Key...)
		if r.Value == nil {
			b = binary.BigEndian.AppendUint16(b, 0xffff)
			continue
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Value)))
		b = append(b, r.Value...)
	}
	return b
}

// FuzzGroupLoad replays arbitrary offsets-topic records into a coordinator
// (the path a broker takes at start-up over whatever the topic holds) and
// then drives the loaded groups. Nothing may panic; undecodable records are
// skipped.
func FuzzGroupLoad(f *testing.F) {
	// Seeds: what a real coordinator writes.
	seed := &recordStore{}
	cfg := group.DefaultConfig()
	cfg.OffsetsPartitions = 1
	cfg.InitialRebalanceDelay = 0
	c := group.New(cfg, seed)
	defer c.Close()
	if err := c.Load(); err != nil {
		f.Fatal(err)
	}
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"t"}
	r := c.Join(context.Background(), group.JoinRequest{Group: "g", ClientID: "c", SessionTimeout: 10 * time.Second,
		ProtocolType: "consumer", Protocols: []group.Protocol{{Name: "range", Metadata: meta.AppendTo(nil)}}})
	c.Sync(context.Background(), group.SyncRequest{Group: "g", Generation: r.Generation, MemberID: r.MemberID,
		Assignments: map[string][]byte{r.MemberID: []byte("a")}})
	c.CommitOffsets("g", r.Generation, r.MemberID, nil, []group.OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 0}, Offset: 9, Metadata: "m"}})
	c.CommitOffsets("solo", -1, "", nil, []group.OffsetCommit{{TopicPartition: kafka.TopicPartition{Topic: "t", Partition: 1}, Offset: 3}})
	// A KIP-848 group's snapshot record.
	c.ConsumerHeartbeat(group.ConsumerHeartbeat{Group: "next", MemberID: "m", SubscribedTopics: []string{"t"}})
	f.Add(joinRecords(seed.recs))
	f.Add(joinRecords(append(seed.recs, group.Record{Key: seed.recs[0].Key})))
	f.Fuzz(func(t *testing.T, data []byte) {
		// An input that takes seconds is a hang: fail it with its input saved.
		watchdog := time.AfterFunc(2*time.Second, func() { panic("group load input took over 2s") })
		defer watchdog.Stop()
		store := &recordStore{recs: splitRecords(data)}
		c := group.New(cfg, store)
		defer c.Close()
		_ = c.Load() // an error only counts skipped records
		for _, l := range c.List() {
			d, _ := c.Describe(l.ID)
			for _, m := range d.Members {
				_ = c.Heartbeat(l.ID, 0, m.MemberID, m.InstanceID)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				c.Sync(ctx, group.SyncRequest{Group: l.ID, MemberID: m.MemberID, InstanceID: m.InstanceID})
				cancel()
			}
			_ = c.Offsets(l.ID)
			c.Leave(l.ID, []group.LeaveMember{{MemberID: "x"}})
			c.Tick()
			_ = c.Delete(l.ID)
		}
	})
}
