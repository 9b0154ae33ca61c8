package txn

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/rillmq/rill/coordinator/shard"
	"github.com/rillmq/rill/internal/kafka"
)

// TestRandomSequences runs seeded random sequences of requests, marker
// reports, timeouts, expirations, failed writes and reloads against one
// partition, and checks after every step (in the manner of Kafka's
// TransactionCoordinatorConcurrencyTest and etcd raft's random tests):
//   - a transactional id's epoch never goes back for its producer id (a new
//     producer id only comes from the allocator, at epoch 0);
//   - an epoch older than the last one InitProducerId answered or a fence
//     set never succeeds (AddPartitions, AddOffsets, EndTxn, verify);
//   - a transaction's partitions leave it only at Complete;
//   - every PrepareCommit/PrepareAbort yields markers for exactly the
//     partitions that were added (and a reload owes them again).
func TestRandomSequences(t *testing.T) {
	for seed := int64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandom(t, seed, 400) })
	}
}

type client struct {
	pid     int64
	epoch   int16
	version Version
}

type idModel struct {
	// floor is the pid and lowest epoch that may still succeed.
	floorPid   int64
	floorEpoch int16
	// added is the partitions added since the last Complete.
	added map[kafka.TopicPartition]bool
}

func runRandom(t *testing.T, seed int64, steps int) {
	rng := rand.New(rand.NewSource(seed))
	cfg := DefaultConfig()
	cfg.LogVersion = Version(rng.Intn(3))
	ids := &counter{}
	p := NewPartition(cfg, ids, 0)
	var log []shard.Record
	now := t0
	txnIDs := []string{"a", "b", "c"}
	clients := map[string][]*client{}
	models := map[string]*idModel{}
	for _, id := range txnIDs {
		clients[id] = []*client{{pid: -1, epoch: -1}, {pid: -1, epoch: -1}}
		models[id] = &idModel{floorPid: -1, added: map[kafka.TopicPartition]bool{}}
	}
	topics := []kafka.TopicPartition{tp("x", 0), tp("x", 1), tp("y", 0), tp("z", 3)}
	var stale []Markers
	stats := map[string]int{}
	defer func() { t.Logf("seed %d: %v", seed, stats) }()
	var trace []string
	fatal := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d: %s\ntrace:\n%v", seed, len(trace), fmt.Sprintf(format, args...), trace)
	}

	checkMarkers := func(mks []Markers) {
		for _, mk := range mks {
			mod := models[mk.TransactionalID]
			want := sortedPartitions(mod.added)
			if !samePartitions(want, mk.Partitions) {
				fatal("markers for %s: %v, added %v", mk.TransactionalID, mk.Partitions, want)
			}
			stale = append(stale, mk)
			stats["markers"]++
		}
	}

	// commit writes d (unless the write fails) and checks the invariants
	// of the change.
	commit := func(d Decision) bool {
		if d.Write == nil {
			return d.Answer.Err == nil
		}
		if rng.Intn(10) == 0 {
			trace = append(trace, "  (write failed)")
			return false
		}
		id := d.Write.To.TransactionalID
		before, had := p.Get(id)
		log = append(log, p.Records(d.Write)...)
		mk := p.Apply(d.Write)
		after, has := p.Get(id)
		if had && has {
			if after.ProducerID == before.ProducerID && after.ProducerEpoch < before.ProducerEpoch {
				fatal("%s epoch went back: %v -> %v", id, before, after)
			}
			if after.ProducerID != before.ProducerID && (after.ProducerEpoch != 0 || after.ProducerID < before.ProducerID) {
				fatal("%s producer id moved oddly: %v -> %v", id, before, after)
			}
			for _, tp := range before.Partitions {
				if !after.HasPartition(tp) && after.State != CompleteCommit && after.State != CompleteAbort {
					fatal("%s lost partition %v outside Complete: %v -> %v", id, tp, before, after)
				}
			}
		}
		mod := models[id]
		stats[d.Write.To.State.String()]++
		if d.Write.Fence {
			stats["fence"]++
			mod.floorPid, mod.floorEpoch = after.ProducerID, after.ProducerEpoch
		}
		if has && (after.State == CompleteCommit || after.State == CompleteAbort) {
			mod.added = map[kafka.TopicPartition]bool{}
		}
		if !has {
			mod.added = map[kafka.TopicPartition]bool{}
			mod.floorPid, mod.floorEpoch = -1, -1
		}
		if mk != nil {
			p.TakeMarkers()
			checkMarkers([]Markers{*mk})
		}
		return d.Answer.Err == nil
	}
	mayNotSucceed := func(id string, c *client, what string, ok bool) {
		mod := models[id]
		if ok && c.pid == mod.floorPid && c.epoch < mod.floorEpoch {
			fatal("%s: fenced epoch %d (floor %d) succeeded in %s", id, c.epoch, mod.floorEpoch, what)
		}
	}

	for step := 0; step < steps; step++ {
		id := txnIDs[rng.Intn(len(txnIDs))]
		c := clients[id][rng.Intn(2)]
		mod := models[id]
		now = now.Add(time.Duration(rng.Intn(3000)) * time.Millisecond)
		switch op := rng.Intn(100); {
		case op < 15: // InitProducerId
			r := InitProducerID{TransactionalID: id, Timeout: time.Duration(1+rng.Intn(30)) * time.Second}
			if c.pid >= 0 && rng.Intn(2) == 0 {
				r.Current = &Producer{ID: c.pid, Epoch: c.epoch}
			}
			d := p.InitProducerID(r, now)
			trace = append(trace, fmt.Sprintf("init %s %+v -> %v write=%v", id, r.Current, d.Answer, d.Write != nil))
			if commit(d) {
				c.pid, c.epoch = d.Answer.ProducerID, d.Answer.ProducerEpoch
				c.version = Version(rng.Intn(int(cfg.LogVersion) + 1)) // a client uses at most the finalized transaction.version
				if c.pid == mod.floorPid && c.epoch < mod.floorEpoch {
					fatal("init answered epoch %d below floor %d", c.epoch, mod.floorEpoch)
				}
				mod.floorPid, mod.floorEpoch = c.pid, c.epoch
			}
		case op < 40: // AddPartitions or AddOffsets
			var d Decision
			if rng.Intn(4) == 0 {
				d = p.AddOffsets(id, c.pid, c.epoch, fmt.Sprintf("g%d", rng.Intn(3)), now)
			} else {
				parts := []kafka.TopicPartition{topics[rng.Intn(len(topics))], topics[rng.Intn(len(topics))]}
				d = p.AddPartitions(AddPartitions{TransactionalID: id, ProducerID: c.pid, ProducerEpoch: c.epoch, Partitions: parts, Version: c.version}, now)
			}
			trace = append(trace, fmt.Sprintf("add %s %d/%d -> %v write=%v", id, c.pid, c.epoch, d.Answer, d.Write != nil))
			ok := commit(d)
			mayNotSucceed(id, c, "add", ok)
			if ok && d.Write != nil {
				m, _ := p.Get(id)
				for _, tp := range m.Partitions {
					mod.added[tp] = true
				}
			}
		case op < 45: // verify-only
			_, err := p.VerifyPartitions(id, c.pid, c.epoch, topics[:2])
			mayNotSucceed(id, c, "verify", err == nil)
		case op < 60: // EndTxn
			r := EndTxn{TransactionalID: id, ProducerID: c.pid, ProducerEpoch: c.epoch, Commit: rng.Intn(2) == 0, Version: c.version}
			d := p.EndTxn(r, now)
			trace = append(trace, fmt.Sprintf("end %s %d/%d commit=%v tv%d -> %v write=%v", id, c.pid, c.epoch, r.Commit, r.Version, d.Answer, d.Write != nil))
			ok := commit(d)
			mayNotSucceed(id, c, "end", ok)
			if ok {
				c.pid, c.epoch = d.Answer.ProducerID, d.Answer.ProducerEpoch
			}
		case op < 78: // the marker sender reports markers written
			var mk Markers
			if pend := p.Pending(); len(pend) > 0 && rng.Intn(4) != 0 {
				mk = pend[rng.Intn(len(pend))]
			} else if len(stale) > 0 {
				mk = stale[rng.Intn(len(stale))]
			} else {
				continue
			}
			d := p.Complete(mk, now)
			trace = append(trace, fmt.Sprintf("complete %s %d/%d -> %v", mk.TransactionalID, mk.ProducerID, mk.ProducerEpoch, d.Answer))
			commit(d)
		case op < 88: // timeouts, as Tick runs them
			now = now.Add(time.Duration(rng.Intn(40)) * time.Second)
			for _, tid := range p.TimedOut(now) {
				d := p.AbortTimedOut(tid, now)
				trace = append(trace, fmt.Sprintf("timeout %s write=%v", tid, d.Write != nil))
				commit(d)
			}
		case op < 92: // expiration
			now = now.Add(time.Duration(rng.Intn(3)) * cfg.IDExpiration / 2)
			for _, tid := range p.Expired(now) {
				trace = append(trace, "expire "+tid)
				commit(p.Expire(tid, now))
			}
		default: // reload from the log (a new leader)
			before := p.All()
			q := NewPartition(cfg, ids, 0)
			for _, r := range log {
				q.Replay(r)
			}
			if err := q.Loaded(now); err != nil {
				fatal("load: %v", err)
			}
			after := q.All()
			if len(before) != len(after) {
				fatal("reload: %d ids, had %d", len(after), len(before))
			}
			for i := range before {
				before[i].LastProducerEpoch = NoProducerEpoch
				if cfg.LogVersion < TV1 {
					// TransactionLogValue v0 has no tagged fields.
					before[i].PreviousProducerID, before[i].NextProducerID, before[i].ClientVersion = NoProducerID, NoProducerID, TV0
				}
				if !sameMetadata(before[i], after[i]) {
					fatal("reload:\n got %v\nwant %v", after[i], before[i])
				}
			}
			checkMarkers(q.TakeMarkers())
			p = q
			trace = append(trace, "reload")
		}
		if len(trace) > 60 {
			trace = trace[len(trace)-60:]
		}
	}
}
