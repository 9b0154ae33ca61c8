package quorum

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// memDurable is durable storage in memory: what survives a restart.
type memDurable struct {
	hs      *pb.HardState
	snap    *pb.Snapshot
	entries []*pb.Entry
}

func (d *memDurable) SaveSnapshot(snap *pb.Snapshot) error {
	d.snap = proto.Clone(snap).(*pb.Snapshot)
	d.entries = afterIndex(d.entries, snap.GetMetadata().GetIndex())
	return nil
}

func (d *memDurable) Save(hs *pb.HardState, entries []*pb.Entry) error {
	if hs != nil {
		d.hs = proto.Clone(hs).(*pb.HardState)
	}
	for _, e := range entries {
		// A new entry at an index replaces that index and everything after.
		for len(d.entries) > 0 && d.entries[len(d.entries)-1].GetIndex() >= e.GetIndex() {
			d.entries = d.entries[:len(d.entries)-1]
		}
		d.entries = append(d.entries, proto.Clone(e).(*pb.Entry))
	}
	return nil
}

type node struct {
	m       *Member
	durable *memDurable
	// applied is the data applied, by index: the state machine, which
	// snapshots carry whole.
	applied map[uint64]string
	// last is the last index applied; snapped the last snapshot's.
	last, snapped uint64
	down          bool
}

type network struct {
	t      *testing.T
	rng    *rand.Rand
	nodes  map[uint64]*node
	queue  []*pb.Message
	cut    map[uint64]bool // isolated members
	lossy  bool
	nextID int
	// snapEvery: members snapshot after this many entries (0: never).
	snapEvery uint64
}

var peers = []uint64{1, 2, 3}

func newNetwork(t *testing.T, seed int64) *network {
	n := &network{t: t, rng: rand.New(rand.NewSource(seed)), nodes: map[uint64]*node{}, cut: map[uint64]bool{}}
	for _, id := range peers {
		n.start(id, nil)
	}
	return n
}

func (n *network) start(id uint64, restore *Restored) {
	nd := n.nodes[id]
	if nd == nil {
		nd = &node{durable: &memDurable{}}
		n.nodes[id] = nd
	}
	nd.applied, nd.down, nd.last, nd.snapped = map[uint64]string{}, false, 0, 0
	m, err := New(Config{ID: id, Peers: peers, ElectionTicks: 10, HeartbeatTicks: 1, Durable: nd.durable, Restore: restore,
		Apply: func(i uint64, data []byte) error {
			if i <= nd.last {
				return fmt.Errorf("index %d applied after %d", i, nd.last)
			}
			nd.applied[i], nd.last = string(data), i
			return nil
		},
		Load: func(i uint64, data []byte) error {
			nd.applied = map[uint64]string{}
			nd.last, nd.snapped = i, i
			return json.Unmarshal(data, &nd.applied)
		}})
	if err != nil {
		n.t.Fatal(err)
	}
	nd.m = m
}

func (n *network) crash(id uint64) { n.nodes[id].down = true; n.drop(id) }

func (n *network) restart(id uint64) {
	d := n.nodes[id].durable
	n.start(id, &Restored{HardState: d.hs, Snapshot: d.snap, Entries: d.entries})
}

// snapshot has every live member with snapEvery new entries snapshot its
// state, compacting its log.
func (n *network) snapshot() {
	for _, id := range peers {
		nd := n.nodes[id]
		if nd.down || n.snapEvery == 0 || nd.last-nd.snapped < n.snapEvery {
			continue
		}
		data, _ := json.Marshal(nd.applied)
		if err := nd.m.Snapshot(nd.last, data); err != nil {
			n.t.Fatal(err)
		}
		nd.snapped = nd.last
	}
}

// drop forgets messages to or from id.
func (n *network) drop(id uint64) {
	kept := n.queue[:0]
	for _, m := range n.queue {
		if m.GetTo() != id && m.GetFrom() != id {
			kept = append(kept, m)
		}
	}
	n.queue = kept
}

func (n *network) leader() *node {
	for _, id := range peers {
		if nd := n.nodes[id]; !nd.down && nd.m.IsLeader() && !n.cut[id] {
			return nd
		}
	}
	return nil
}

// step ticks, drives and delivers one round.
func (n *network) step() {
	for _, id := range peers {
		nd := n.nodes[id]
		if nd.down {
			continue
		}
		nd.m.Tick()
		msgs, err := nd.m.Drive()
		if err != nil {
			n.t.Fatal(err)
		}
		n.queue = append(n.queue, msgs...)
	}
	n.rng.Shuffle(len(n.queue), func(i, j int) { n.queue[i], n.queue[j] = n.queue[j], n.queue[i] })
	q := n.queue
	n.queue = nil
	for _, m := range q {
		to, from := n.nodes[m.GetTo()], m.GetFrom()
		if to == nil || to.down || n.cut[m.GetTo()] != n.cut[from] || (n.lossy && n.rng.Intn(10) == 0) {
			continue
		}
		if n.rng.Intn(4) == 0 {
			n.queue = append(n.queue, m) // delayed a round
			continue
		}
		_ = to.m.Step(m) // stale messages are refused; raft copes
	}
	for _, id := range peers {
		if nd := n.nodes[id]; !nd.down {
			msgs, err := nd.m.Drive()
			if err != nil {
				n.t.Fatal(err)
			}
			n.queue = append(n.queue, msgs...)
		}
	}
}

func (n *network) propose() {
	if l := n.leader(); l != nil {
		n.nextID++
		_ = l.m.Propose([]byte(fmt.Sprintf("record-%d", n.nextID)))
	}
}

// check: members never applied different data at the same index.
func (n *network) check() {
	n.t.Helper()
	seen := map[uint64]string{}
	for _, id := range peers {
		for i, d := range n.nodes[id].applied {
			if prev, ok := seen[i]; ok && prev != d {
				n.t.Fatalf("index %d applied as %q and %q", i, prev, d)
			}
			seen[i] = d
		}
	}
}

func TestQuorumSurvivesFailures(t *testing.T) {
	for seed := int64(0); seed < 30; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n := newNetwork(t, seed)
			n.lossy = true
			if seed%2 == 1 {
				// Odd seeds compact their logs: members that were down
				// or cut off catch up from snapshots.
				n.snapEvery = 15
			}
			everApplied := map[uint64]string{}
			for step := 0; step < 1500; step++ {
				switch op := n.rng.Intn(100); {
				case op < 30:
					n.propose()
				case op == 30:
					id := peers[n.rng.Intn(3)]
					if !n.nodes[id].down {
						n.crash(id)
					}
				case op == 31:
					for _, id := range peers {
						if n.nodes[id].down {
							n.restart(id)
							break
						}
					}
				case op == 32:
					n.cut = map[uint64]bool{peers[n.rng.Intn(3)]: true} // isolate one
				case op == 33:
					n.cut = map[uint64]bool{}
				}
				n.step()
				n.snapshot()
				n.check()
				for _, id := range peers {
					for i, d := range n.nodes[id].applied {
						everApplied[i] = d
					}
				}
			}
			// Heal and let everyone catch up.
			n.lossy, n.cut = false, map[uint64]bool{}
			for _, id := range peers {
				if n.nodes[id].down {
					n.restart(id)
				}
			}
			for i := 0; i < 300; i++ {
				n.step()
			}
			n.propose()
			for i := 0; i < 100; i++ {
				n.step()
			}
			n.check()
			if len(everApplied) < 10 { // raft's election timeouts are random: progress varies by run
				t.Fatalf("only %d entries were ever committed", len(everApplied))
			}
			// Nothing once applied is lost: every member has it, same data.
			for i, d := range everApplied {
				for _, id := range peers {
					if got := n.nodes[id].applied[i]; got != d {
						t.Fatalf("member %d has %q at index %d, which was committed as %q", id, got, i, d)
					}
				}
			}
		})
	}
}
