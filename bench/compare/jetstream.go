package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rillmq/rill/bench"
)

// jetStreamServer is an in-process nats-server with JetStream on file
// storage in dir, listening on 127.0.0.1.
type jetStreamServer struct {
	srvs []*server.Server
	nc   *nats.Conn
	js   jetstream.JetStream
	// replicas is the streams' replication (R1 on one server, R3 on a
	// three-server cluster).
	replicas int
}

func startJetStream(dir string) (*jetStreamServer, error) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
		MaxPayload: 8 << 20}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		return nil, fmt.Errorf("nats-server did not start")
	}
	return connectJetStream([]*server.Server{srv}, 1)
}

// startJetStreamCluster runs three clustered nats-servers (routes on
// 127.0.0.1, each with its own store under dir) whose streams have three
// replicas, JetStream's counterpart of a Kafka topic with replication
// factor 3.
func startJetStreamCluster(dir string) (*jetStreamServer, error) {
	var ports []int
	for i := 0; i < 3; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	var srvs []*server.Server
	stop := func() {
		for _, s := range srvs {
			s.Shutdown()
		}
	}
	for i := 0; i < 3; i++ {
		var routes []*url.URL
		for j, p := range ports {
			if j != i {
				routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
			}
		}
		opts := &server.Options{ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, JetStream: true,
			StoreDir: filepath.Join(dir, fmt.Sprint("n", i+1)), NoLog: true, NoSigs: true, MaxPayload: 8 << 20,
			Cluster: server.ClusterOpts{Name: "bench", Host: "127.0.0.1", Port: ports[i]}, Routes: routes}
		srv, err := server.NewServer(opts)
		if err != nil {
			stop()
			return nil, err
		}
		go srv.Start()
		srvs = append(srvs, srv)
	}
	for _, srv := range srvs {
		if !srv.ReadyForConnections(10 * time.Second) {
			stop()
			return nil, fmt.Errorf("nats-server did not start")
		}
	}
	s, err := connectJetStream(srvs, 3)
	if err != nil {
		return nil, err
	}
	// The meta group elects a leader before streams can be created.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		_, lastErr = s.js.AccountInfo(cctx)
		ccancel()
		if lastErr == nil {
			return s, nil
		}
		select {
		case <-ctx.Done():
			var state []string
			for _, srv := range srvs {
				state = append(state, fmt.Sprintf("%s: %d routes, clustered %v, leader %v", srv.Name(), srv.NumRoutes(), srv.JetStreamIsClustered(), srv.JetStreamIsLeader()))
			}
			s.Close()
			return nil, fmt.Errorf("JetStream cluster not ready (%v): %s", lastErr, strings.Join(state, "; "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func connectJetStream(srvs []*server.Server, replicas int) (*jetStreamServer, error) {
	var urls []string
	for _, srv := range srvs {
		urls = append(urls, srv.ClientURL())
	}
	stop := func() {
		for _, srv := range srvs {
			srv.Shutdown()
		}
	}
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		stop()
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		nc.Close()
		stop()
		return nil, err
	}
	return &jetStreamServer{srvs: srvs, nc: nc, js: js, replicas: replicas}, nil
}

func (s *jetStreamServer) Close() {
	s.nc.Close()
	for _, srv := range s.srvs {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// stream (re)creates a file-backed stream for one run; partitions map to
// subjects bench.<n>, JetStream's nearest equivalent.
func (s *jetStreamServer) stream(ctx context.Context, name string) error {
	_ = s.js.DeleteStream(ctx, name)
	_, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.FileStorage,
		Replicas: s.replicas})
	return err
}

type pending struct {
	f    jetstream.PubAckFuture
	sent time.Time
	size int
}

// produce publishes cfg.Records messages asynchronously (JetStream's fast
// path), measuring send-to-ack latency.
func (s *jetStreamServer) produce(ctx context.Context, name string, cfg bench.Config, progress io.Writer) (bench.Result, error) {
	res := bench.Result{Workload: "produce", Config: cfg}
	base := bench.Payload(cfg.RecordSize)
	m := bench.NewMeter("produce", progress)
	m.Warmup(time.Duration(cfg.WarmupSeconds) * time.Second)
	acks := make(chan pending, 8192)
	done := make(chan error, 1)
	go func() {
		var first error
		for p := range acks {
			select {
			case <-p.f.Ok():
				m.Latency(time.Since(p.sent))
				m.Add(1, int64(p.size))
			case err := <-p.f.Err():
				if first == nil {
					first = err
				}
			}
		}
		done <- first
	}()
	// Subjects are built once: formatting one per message would charge
	// JetStream's client work the Kafka clients do not do.
	subjects := make([]string, cfg.Partitions)
	for p := range subjects {
		subjects[p] = fmt.Sprintf("%s.%d", name, p)
	}
	pace := bench.NewPacer(cfg.Rate)
	var err error
	for i := 0; i < cfg.Records && err == nil; i++ {
		pace.Wait(i)
		v := make([]byte, len(base))
		copy(v, base)
		sent := time.Now()
		binary.BigEndian.PutUint64(v, uint64(sent.UnixNano()))
		var f jetstream.PubAckFuture
		f, err = s.js.PublishAsync(subjects[i%len(subjects)], v)
		if err == nil {
			acks <- pending{f, sent, len(v)}
		}
	}
	close(acks)
	if aerr := <-done; err == nil {
		err = aerr
	}
	m.Finish(&res)
	return res, err
}

// consumeAll reads the stream from the start with an ordered consumer.
func (s *jetStreamServer) consumeAll(ctx context.Context, name string, cfg bench.Config, progress io.Writer) (bench.Result, error) {
	res := bench.Result{Workload: "consume", Config: cfg}
	cons, err := s.js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return res, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return res, err
	}
	defer it.Stop()
	m := bench.NewMeter("consume", progress)
	for n := 0; n < cfg.Records; n++ {
		msg, err := it.Next()
		if err != nil {
			m.Finish(&res)
			return res, fmt.Errorf("jetstream: read %d of %d: %w", n, cfg.Records, err)
		}
		m.Add(1, int64(len(msg.Data())))
	}
	m.Finish(&res)
	return res, nil
}

// endToEnd publishes at cfg.Rate while an ordered consumer tails the
// stream; latency is send to receive.
func (s *jetStreamServer) endToEnd(ctx context.Context, name string, cfg bench.Config, progress io.Writer) (bench.Result, error) {
	res := bench.Result{Workload: "e2e", Config: cfg}
	m := bench.NewMeter("e2e", progress)
	m.Warmup(time.Duration(cfg.WarmupSeconds) * time.Second)
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		oc := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
		cons, err := s.js.OrderedConsumer(ctx, name, oc)
		if err != nil {
			close(ready)
			errc <- err
			return
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(4096))
		close(ready)
		if err != nil {
			errc <- err
			return
		}
		defer it.Stop()
		for n := 0; n < cfg.Records; n++ {
			msg, err := it.Next()
			if err != nil {
				errc <- err
				return
			}
			if d := msg.Data(); len(d) >= 8 {
				m.Latency(time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(d)))))
			}
			m.Add(1, int64(len(msg.Data())))
		}
		errc <- nil
	}()
	<-ready
	time.Sleep(200 * time.Millisecond) // the pull subscription is in place
	prodCfg := cfg
	if _, err := s.produce(ctx, name, prodCfg, nil); err != nil {
		return res, err
	}
	err := <-errc
	m.Finish(&res)
	return res, err
}
