package netserver

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/netserver/handler"
)

// BenchmarkTransport compares the two transports on the same handlers and
// in-memory engine, driven by kgo over loopback:
//
//	produce   8 concurrent producers, 1 KiB records, acks=all, linger 0
//	metadata  16 goroutines issuing Metadata requests (request round trips)
//	fetch     one kgo consumer reading a 64 MiB partition from the start,
//	          data on the real file system, one copy from the page cache;
//	          fetch/netconn-sendfile sends the same data with sendfile
func BenchmarkTransport(b *testing.B) {
	for _, transport := range transports {
		b.Run("produce/"+transport, func(b *testing.B) { benchProduce(b, transport) })
		b.Run("metadata/"+transport, func(b *testing.B) { benchMetadata(b, transport) })
		b.Run("fetch/"+transport, func(b *testing.B) { benchFetch(b, transport, true) })
	}
	b.Run("fetch/netconn-sendfile", func(b *testing.B) { benchFetch(b, "netconn", false) })
}

func benchFetch(b *testing.B, transport string, noSendfile bool) {
	br, closeEngine, err := handler.NewForTest(vfs.Default, b.TempDir(), map[string]int32{"bench": 1})
	if err != nil {
		b.Fatal(err)
	}
	addr := serve(b, br, closeEngine, transport, noSendfile)
	value := make([]byte, 1024)
	const records = 64 << 10
	pcl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < records; i++ {
		pcl.Produce(context.Background(), &kgo.Record{Value: value}, nil)
	}
	if err := pcl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	pcl.Close()
	b.SetBytes(records * int64(len(value)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(8<<20))
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for got < records {
			fs := cl.PollFetches(context.Background())
			if err := fs.Err0(); err != nil {
				b.Fatal(err)
			}
			got += fs.NumRecords()
		}
		cl.Close()
	}
}

func serve(b *testing.B, br *handler.Broker, closeEngine func() error, transport string, noSendfile bool) string {
	cfg := DefaultConfig("127.0.0.1:0")
	cfg.Transport = transport
	cfg.NoSendfile = noSendfile
	s, err := Listen(cfg, br, nil)
	if err != nil {
		b.Fatal(err)
	}
	br.Advertise("127.0.0.1", int32(s.Addr().(*net.TCPAddr).Port))
	b.Cleanup(func() { s.Close(); closeEngine() })
	return s.Addr().String()
}

func benchServer(b *testing.B, transport string) string {
	br, closeEngine, err := handler.NewInMemory(map[string]int32{"bench": 8})
	if err != nil {
		b.Fatal(err)
	}
	return serve(b, br, closeEngine, transport, DefaultNoSendfile)
}

func benchProduce(b *testing.B, transport string) {
	addr := benchServer(b, transport)
	const producers = 8
	value := make([]byte, 1024)
	clients := make([]*kgo.Client, producers)
	for i := range clients {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		clients[i] = cl
	}
	b.SetBytes(int64(len(value)) * 100)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + producers - 1) / producers
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := 0; i < per; i++ {
				// 100 records per op, waited for as a group.
				var pending sync.WaitGroup
				for j := 0; j < 100; j++ {
					pending.Add(1)
					cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
						if err != nil {
							b.Error(err)
						}
						pending.Done()
					})
				}
				pending.Wait()
			}
		}()
	}
	wg.Wait()
}

func benchMetadata(b *testing.B, transport string) {
	addr := benchServer(b, transport)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	const workers = 16
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + workers - 1) / workers
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				req := kmsg.NewPtrMetadataRequest()
				req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("bench")}}
				// Through one broker connection: shard by broker 1.
				if _, err := req.RequestWith(context.Background(), cl.Broker(1)); err != nil {
					b.Error(fmt.Errorf("metadata: %w", err))
					return
				}
			}
		}()
	}
	wg.Wait()
}
