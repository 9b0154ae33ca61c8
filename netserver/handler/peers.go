package handler

// Requests this broker sends to other brokers' Kafka listeners (the
// transaction coordinator's WriteTxnMarkers to partition leaders, a
// leader's verification of a transactional produce with the coordinator):
// one franz-go client per broker address, kept for reuse, each request
// through kmsg.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// peers holds the clients to other brokers.
type peers struct {
	self    int32
	opts    []kgo.Opt // the inter-broker listener's security
	mu      sync.Mutex
	clients map[string]*kgo.Client // by address
}

// request sends req to broker id at its registered address.
func (b *Broker) peerRequest(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
	var addr string
	for _, br := range b.cluster.Brokers() {
		if br.ID == id {
			addr = net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port)))
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("broker %d is not registered", id)
	}
	cl, err := b.peers.client(addr)
	if err != nil {
		return nil, err
	}
	return cl.SeedBrokers()[0].Request(ctx, req)
}

func (p *peers) client(addr string) (*kgo.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cl := p.clients[addr]; cl != nil {
		return cl, nil
	}
	if p.clients == nil {
		p.clients = map[string]*kgo.Client{}
	}
	// The overhead outlasts the peer's own waits (a marker append waits up
	// to coordinatorAppendTimeout for its replicas), so an answer is not
	// given up on, and sent again, while the first request still runs.
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("rill-broker-%d", p.self)), kgo.DialTimeout(2 * time.Second),
		kgo.RequestTimeoutOverhead(2*coordinatorAppendTimeout + 5*time.Second)}, p.opts...)...)
	if err != nil {
		return nil, err
	}
	p.clients[addr] = cl
	return cl, nil
}

func (p *peers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, cl := range p.clients {
		cl.Close()
		delete(p.clients, addr)
	}
}
