package broker

// The publisher: one goroutine that applies each new metadata image to
// this broker, in order.
//
//  1. Once the image is no older than what this broker acted on before
//     (Source.Replayed), logs the image no longer assigns here are deleted:
//     topics deleted while the broker was down or running, partitions
//     reassigned away, and a topic deleted and created again under the
//     same name (a new id). This comes first, so the descriptors and disk
//     they hold are free for what the pass creates; the replica manager
//     lets go of them before they close.
//  2. Topics with partitions assigned here get those partitions created
//     in the engine (with the topic's configs), and are recorded in the
//     local record (metadata.Store: which topic id the logs on disk belong
//     to). A partition that cannot be created is remembered (requests for
//     it answer KAFKA_STORAGE_ERROR) and retried at the next pass.
//  3. Topic config changes are applied to the open logs.
//  4. The replica manager gets every local partition's state; it starts
//     and stops leading, and tells the Listener.
//  5. The ACLs and SCRAM credentials are brought to the image's
//     (security.go): the authorizer has every ACL before the pass that
//     makes the broker ready.
//  6. The client quotas are handed to the quota sink (quotas.go), also
//     before that pass.
//
// The publisher wakes on every image change, on session changes, and every
// 200 ms for what time alone changes (a failed creation's retry, a session
// running out). A wake that finds the image index and the session as the
// last pass left them, with nothing failed to retry, does no pass: an idle
// broker reads its partitions only when something changed.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/metadata"
)

// wantTopic is a topic of the image as this broker must hold it.
type wantTopic struct {
	topic metadata.Topic
	local []int32 // partitions with a replica here
}

// publish runs the publisher until ctx ends.
func (r *Runtime) publish(ctx context.Context) {
	failedAt := map[string]time.Time{} // topic → when its failure was last logged
	// done is what each topic was last ensured as; a pass skips topics
	// that have not changed since (the 200 ms tick only retries failures),
	// so an idle pass costs no engine or record look-ups per partition.
	done := map[string]string{}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	// settled is the state the last pass left nothing to retry at: the
	// image index and session it applied, current, every topic ensured.
	// A tick that finds that state again skips the pass: a pass reads
	// every partition of the image, and 100,000 idle partitions must not
	// cost that five times a second.
	type passState struct {
		applied uint64
		mayLead bool
	}
	var settled *passState
	for {
		changed := r.source.Changed() // before looking, so no change is missed
		session := r.lifecycle.Changed()
		now := passState{applied: r.source.Applied(), mayLead: r.mayLead()}
		if settled != nil && *settled == now {
			// Both return at once when their index is unchanged; the
			// quota sink may have been set since, though.
			r.syncSecurity()
			r.syncQuotas()
			r.passes.Notify() // a pass with nothing to do: awaitLocal looks again
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-session:
			case <-t.C:
			}
			continue
		}
		settled = nil
		r.syncFeatures()
		if r.source.Replayed() && !r.imported.Load() {
			r.importCatalog(ctx)
		}
		// Nothing on disk changes before the image is current: while the
		// metadata log replays, the image passes through old states (a
		// topic under the id it had before it was deleted and created
		// again, say), and acting on one would delete live logs. Current
		// means as new as the active controller's when this broker's
		// session began (see ready).
		current := r.isReady.Load() || r.ready()
		want, assigned := r.wanted()
		names := slices.Sorted(maps.Keys(want))
		if !current {
			names = nil
		}
		// Removals first: a topic deleted and another created in the
		// same pass frees its descriptors and disk before the new one
		// takes them.
		if current {
			r.removeUnassigned(want, assigned)
		}
		failed := false
		for _, name := range names {
			sig := want[name].signature()
			if done[name] == sig {
				continue
			}
			if err := r.ensureTopic(want[name]); err != nil {
				failed = true
				delete(done, name)
				if time.Since(failedAt[name]) >= 30*time.Second {
					failedAt[name] = time.Now()
					r.cfg.Logger.Warn("creating a topic's local partitions failed, retrying (logged once per 30s)", "topic", name, "err", err)
				}
				continue
			}
			done[name] = sig
			if _, failed := failedAt[name]; failed {
				delete(failedAt, name)
				r.cfg.Logger.Info("topic's local partitions created after failures", "topic", name)
			}
		}
		for name := range done {
			if _, ok := want[name]; !ok {
				delete(done, name)
			}
		}
		r.syncReplicas()
		r.syncSecurity()
		r.syncQuotas()
		r.published(want, current)
		if current && !failed {
			settled = &now
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-session:
		case <-t.C:
		}
	}
}

// signature is what ensureTopic acts on, as a comparable string.
func (w wantTopic) signature() string {
	keys := slices.Sorted(maps.Keys(w.topic.Configs))
	var b strings.Builder
	fmt.Fprintf(&b, "%x/%d/%v", w.topic.ID, w.topic.Partitions, w.local)
	for _, k := range keys {
		fmt.Fprintf(&b, "/%s=%s", k, w.topic.Configs[k])
	}
	return b.String()
}

// wanted reads the image: every topic with its local partitions, and the
// set of partitions assigned here.
func (r *Runtime) wanted() (map[string]wantTopic, map[kafka.TopicPartition]bool) {
	want := map[string]wantTopic{}
	assigned := map[kafka.TopicPartition]bool{}
	r.source.View(func(im *controller.Image) {
		for name, ti := range im.Topics {
			w := wantTopic{topic: metadata.Topic{Name: name, ID: ti.ID, Partitions: int32(len(ti.Partitions)), Configs: maps.Clone(ti.Configs)}}
			for i, p := range ti.Partitions {
				if slices.Contains(p.Replicas, r.self) {
					w.local = append(w.local, int32(i))
					assigned[kafka.TopicPartition{Topic: name, Partition: int32(i)}] = true
				}
			}
			want[name] = w
		}
	})
	return want, assigned
}

// ensureTopic makes this broker hold a topic as the image has it: the
// local record names its id, its local partitions exist, its logs run
// with its configs. A topic of the same name under another id (deleted and
// created again) is removed first.
func (r *Runtime) ensureTopic(w wantTopic) error {
	if len(w.local) == 0 {
		return nil // nothing of it here
	}
	name := w.topic.Name
	rec, ok := r.cfg.Local.Get(name)
	if ok && rec.ID != w.topic.ID {
		r.cfg.Logger.Info("topic deleted and created again: removing the old topic's logs", "topic", name)
		if err := r.removeTopic(rec, "its topic was deleted and created again"); err != nil {
			return err
		}
		ok = false
	}
	lc := metadata.LogConfig(r.cfg.LogDefaults, w.topic)
	switch {
	case !ok:
		if _, err := r.cfg.Local.CreateWithID(name, w.topic.ID, w.topic.Partitions, w.topic.Configs); err != nil {
			return err
		}
		r.cfg.Logger.Info("topic added", "topic", name, "partitions", w.topic.Partitions, "local", len(w.local))
	case rec.Partitions != w.topic.Partitions || !maps.Equal(rec.Configs, w.topic.Configs):
		if _, err := r.cfg.Local.Update(name, func(t *metadata.Topic) error {
			t.Partitions, t.Configs = w.topic.Partitions, maps.Clone(w.topic.Configs)
			return nil
		}); err != nil {
			return err
		}
		if !maps.Equal(rec.Configs, w.topic.Configs) {
			for _, p := range w.local {
				if l, err := r.cfg.Engine.Partition(kafka.TopicPartition{Topic: name, Partition: p}); err == nil {
					l.SetConfig(lc)
				}
			}
			r.cfg.Logger.Info("topic configs changed", "topic", name, "configs", w.topic.Configs)
		}
	}
	var errs []error
	var missing []kafka.TopicPartition
	for _, p := range w.local {
		tp := kafka.TopicPartition{Topic: name, Partition: p}
		if _, err := r.cfg.Engine.Partition(tp); err != nil {
			missing = append(missing, tp)
		}
	}
	// Together: in parallel, with one sync of the data directory.
	_, created := r.cfg.Engine.CreatePartitions(missing, lc)
	for i, tp := range missing {
		if err := created[i]; err != nil && !errors.Is(err, engine.ErrPartitionExists) {
			r.setFailure(tp, err)
			errs = append(errs, fmt.Errorf("partition %d: %w", tp.Partition, err))
			continue
		}
		r.setFailure(tp, nil)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("1 of %d local partitions not created: %w", len(w.local), errs[0])
	}
	// One reason is enough for the log (the others are alike, and
	// PartitionFailure has each).
	return fmt.Errorf("%d of %d local partitions not created: %w (and %d more)", len(errs), len(w.local), errs[0], len(errs)-1)
}

// removeTopic deletes a topic's local logs, then its local record. It
// goes on past a partition it cannot delete, so every log that can be
// closed is (and its descriptors freed); the record stays until all are
// gone, and the next pass retries.
func (r *Runtime) removeTopic(t metadata.Topic, why string) error {
	var errs []error
	for p := int32(0); p < t.Partitions; p++ {
		tp := kafka.TopicPartition{Topic: t.Name, Partition: p}
		r.setFailure(tp, nil)
		err := r.cfg.Engine.DeletePartition(tp)
		switch {
		case err == nil:
			r.cfg.Logger.Info("partition deleted", "partition", tp.String(), "reason", why)
		case !errors.Is(err, engine.ErrUnknownPartition):
			errs = append(errs, fmt.Errorf("%s: %w", tp, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := r.cfg.Local.Delete(t.Name); err != nil && !errors.Is(err, metadata.ErrUnknownTopic) {
		return err
	}
	r.cfg.Logger.Info("topic's local logs deleted", "topic", t.Name)
	return nil
}

// removeUnassigned deletes what the image no longer assigns here: topics
// it does not have (or has under another id), and partitions reassigned
// away.
func (r *Runtime) removeUnassigned(want map[string]wantTopic, assigned map[kafka.TopicPartition]bool) {
	var topics []metadata.Topic
	for _, rec := range r.cfg.Local.List() {
		if w, ok := want[rec.Name]; !ok || w.topic.ID != rec.ID || len(w.local) == 0 {
			topics = append(topics, rec)
		}
	}
	var partitions []kafka.TopicPartition
	for _, tp := range r.cfg.Engine.Partitions() {
		if !assigned[tp] {
			partitions = append(partitions, tp)
		}
	}
	if len(topics) == 0 && len(partitions) == 0 {
		return
	}
	// The replica manager lets go of these partitions (it leads or
	// follows nothing the image does not assign here) before their logs
	// close.
	r.syncReplicas()
	for _, rec := range topics {
		w, ok := want[rec.Name]
		why := "reassigned away from this broker"
		switch {
		case !ok:
			why = "its topic was deleted"
			r.cfg.Logger.Info("topic deleted in the cluster metadata", "topic", rec.Name)
		case w.topic.ID != rec.ID:
			why = "its topic was deleted and created again"
			r.cfg.Logger.Info("topic deleted and created again in the cluster metadata", "topic", rec.Name)
		}
		if err := r.removeTopic(rec, why); err != nil {
			r.cfg.Logger.Warn("deleting a topic's local logs failed", "topic", rec.Name, "err", err)
		}
	}
	for _, tp := range partitions {
		if err := r.cfg.Engine.DeletePartition(tp); err != nil {
			if errors.Is(err, engine.ErrUnknownPartition) {
				continue // its topic's removal above deleted it
			}
			r.cfg.Logger.Warn("deleting a partition not assigned to this broker failed", "partition", tp.String(), "err", err)
			continue
		}
		r.cfg.Logger.Info("partition deleted", "partition", tp.String(), "reason", "reassigned away from this broker (or of no topic the metadata has)")
	}
}

// setFailure remembers (err non-nil) or forgets why a partition could not
// be created.
func (r *Runtime) setFailure(tp kafka.TopicPartition, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.failures, tp)
	} else {
		r.failures[tp] = err
	}
}

// PartitionFailure is why a partition assigned here has no log (nil: it
// has one, or is not assigned here).
func (r *Runtime) PartitionFailure(topic string, p int32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[kafka.TopicPartition{Topic: topic, Partition: p}]
}

// published records a finished pass: the topics it applied, and wakes
// WaitTopic and Ready.
func (r *Runtime) published(want map[string]wantTopic, current bool) {
	applied := make(map[string]metadata.Topic, len(want))
	for name, w := range want {
		applied[name] = w.topic
	}
	r.mu.Lock()
	r.applied = applied
	r.mu.Unlock()
	if current && !r.isReady.Load() {
		r.isReady.Store(true)
		r.cfg.Logger.Info("metadata applied: serving", "broker", r.self, "index", r.source.Applied())
	}
	r.passes.Notify()
}

// ready reports whether the image is current enough to act on and serve
// from: replayed (and a single node's old catalog imported), this broker
// in session with the controller quorum at the metadata the controller
// had when it answered, and unfenced in it.
func (r *Runtime) ready() bool {
	return r.source.Replayed() && r.imported.Load() && r.mayLead() && r.unfenced()
}

// unfenced reports whether the image has this broker registered and
// unfenced: a restarted broker is fenced at registration (out of ISRs and
// leadership) until its first heartbeat, and serves only after that.
func (r *Runtime) unfenced() bool {
	var ok bool
	r.source.View(func(im *controller.Image) {
		b, registered := im.Brokers[r.self]
		ok = registered && !b.Fenced
	})
	return ok
}

// WaitTopic waits until cond holds for the topic name as the publisher
// last applied it to this broker (ok false: absent).
func (r *Runtime) WaitTopic(ctx context.Context, name string, cond func(t metadata.Topic, ok bool) bool) error {
	for {
		ch := r.passes.Wait()
		r.mu.Lock()
		t, ok := r.applied[name]
		r.mu.Unlock()
		if cond(t, ok) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Ready waits until the broker may serve clients: its metadata replayed
// (and a single broker's old catalog imported), its session with the
// controller quorum started at the metadata the controller had, the broker
// unfenced in it, and that image applied to the broker.
func (r *Runtime) Ready(ctx context.Context) error {
	for {
		ch := r.passes.Wait()
		if r.isReady.Load() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// importCatalog runs once, on a single broker whose data directory was
// written before the metadata log existed (Config.ImportCatalog): its
// topics (with their ids and configs) and producer ids become records of
// the metadata log. The import can run again after a crash; topics
// already imported are skipped.
func (r *Runtime) importCatalog(ctx context.Context) {
	if !r.cfg.ImportCatalog || r.node == nil {
		r.imported.Store(true)
		return
	}
	if !r.mayLead() {
		return // registered and in session first: the topics are placed on this broker
	}
	var topics []controller.TopicInfo
	for _, t := range r.cfg.Local.List() {
		topics = append(topics, controller.TopicInfo{Name: t.Name, ID: t.ID, Partitions: make([]controller.PartitionState, t.Partitions),
			Configs: t.Configs})
	}
	sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.node.Import(cctx, r.self, topics, r.cfg.Local.NextProducerID()); err != nil {
		r.cfg.Logger.Warn("importing the topic catalog into the metadata log failed, retrying", "err", err)
		return
	}
	if err := r.cfg.ImportDone(); err != nil {
		r.cfg.Logger.Warn("marking the topic catalog imported failed, retrying", "err", err)
		return
	}
	r.cfg.Logger.Info("imported this broker's topic catalog into the metadata log", "topics", len(topics))
	r.imported.Store(true)
}

// Published is closed after the publisher's next pass.
func (r *Runtime) Published() <-chan struct{} { return r.passes.Wait() }
