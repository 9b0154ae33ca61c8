package netserver

import (
	"bytes"
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/netserver/handler"
	"github.com/rillmq/rill/netserver/wire"
)

// The spliced zero-copy encoding of a Fetch answer is byte for byte what
// kmsg encodes once the records are read in, at every Fetch version.
func TestZeroCopyFetchEncodingMatchesKmsg(t *testing.T) {
	b, closeEngine, err := handler.NewInMemory(map[string]int32{"a": 3, "b": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeEngine()
	ctx := context.Background()
	for _, tp := range []struct {
		topic string
		part  int32
		n     int
	}{{"a", 0, 5}, {"a", 2, 300}, {"b", 0, 1}} {
		for i := 0; i < tp.n; i++ {
			req := kmsg.NewPtrProduceRequest()
			req.SetVersion(9)
			req.Acks = -1
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = tp.topic
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition = tp.part
			rp.Records = format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{bytes.Repeat([]byte{'x'}, 200)})
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			b.Handle(ctx, &wire.Request{Msg: req})
		}
	}
	for v := int16(4); v <= 16; v++ {
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(v)
		req.MaxBytes = 1 << 20
		for _, name := range []string{"a", "b"} {
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic = name
			if v >= 13 {
				md := kmsg.NewPtrMetadataRequest()
				md.SetVersion(12)
				mr := b.Handle(ctx, &wire.Request{Msg: md}).(*kmsg.MetadataResponse)
				for _, mt := range mr.Topics {
					if *mt.Topic == name {
						ft.TopicID = mt.TopicID
					}
				}
			}
			for p := int32(0); p < 3; p++ {
				fp := kmsg.NewFetchRequestTopicPartition()
				fp.Partition, fp.PartitionMaxBytes = p, 16<<10
				ft.Partitions = append(ft.Partitions, fp)
			}
			req.Topics = append(req.Topics, ft)
		}
		fr := b.Handle(ctx, &wire.Request{Msg: req}).(*handler.FetchResponse)
		if len(fr.Ranges) != 3 {
			t.Fatalf("v%d: %d ranges", v, len(fr.Ranges))
		}
		pieces, err := encodeFetch(77, fr)
		if err != nil {
			t.Fatal(err)
		}
		var spliced bytes.Buffer
		for _, p := range pieces {
			if p.file == nil {
				spliced.Write(p.bytes)
				continue
			}
			buf := make([]byte, p.n)
			p.file.ReadAt(buf, p.pos)
			spliced.Write(buf)
		}
		if err := fr.Materialize(); err != nil {
			t.Fatal(err)
		}
		want := wire.AppendResponse(nil, 77, fr.FetchResponse)
		if !bytes.Equal(spliced.Bytes(), want) {
			t.Fatalf("v%d: zero-copy encoding differs from kmsg's (%d vs %d bytes)", v, spliced.Len(), len(want))
		}
	}
}
