package handler

// Auto-creation from Metadata, as Kafka's AutoTopicCreationManager does
// it: a Metadata request naming a topic that does not exist, with
// auto.create.topics.enable on and the request allowing it, starts the
// creation through the active controller and is answered at once with
// LEADER_NOT_AVAILABLE and no partitions; the client asks again (every
// client retries that code) and finds the topic once it exists. One
// creation per name is in flight at a time. So a request that follows a
// deletion never sees the topic it deleted as a fresh one-partition topic
// in the same answer.

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
)

// autoCreator runs the creations Metadata starts.
type autoCreator struct {
	mu       sync.Mutex
	inflight map[string]bool
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

// autoCreateTopic starts creating name with the broker's defaults unless a
// creation of it is in flight.
func (b *Broker) autoCreateTopic(name string, metadataVersion int16) {
	a := &b.autoCreate
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil {
		a.ctx, a.cancel = context.WithCancel(context.Background())
		a.inflight = map[string]bool{}
	}
	if a.inflight[name] || a.ctx.Err() != nil {
		return
	}
	a.inflight[name] = true
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		_, err := b.createTopicWithin(a.ctx, name, b.cfg.NumPartitions, b.cfg.DefaultReplicationFactor, nil, nil)
		switch {
		case err == nil:
			b.log.Info("topic auto-created", "topic", name, "partitions", b.cfg.NumPartitions, "metadata_version", metadataVersion)
		case errors.Is(err, kerr.TopicAlreadyExists), a.ctx.Err() != nil:
		default:
			b.log.Warn("auto-creating a topic failed", "topic", name, "err", err)
		}
		a.mu.Lock()
		delete(a.inflight, name)
		a.mu.Unlock()
	}()
}

// stopAutoCreate cancels the creations in flight and waits for them.
func (b *Broker) stopAutoCreate() {
	a := &b.autoCreate
	a.mu.Lock()
	if a.ctx == nil {
		a.ctx, a.cancel = context.WithCancel(context.Background())
	}
	a.cancel()
	a.mu.Unlock()
	a.wg.Wait()
}
