// Package quorum is the controller quorum's replicated metadata log: one
// member per controller node, on go.etcd.io/raft/v3's RawNode, driven by
// its owner like raft itself: no goroutines, clock or sockets inside.
//
// The owner calls Tick on a timer, Step with messages from peers and
// Propose with records; then Drive runs raft's Ready loop in the order raft
// requires: persist new entries and the hard state (to memory and, when
// given, to durable Storage, before anything is sent), return the messages
// to send, hand committed entries to Apply in log order, Advance.
//
// Apply sees every committed normal entry exactly once per process
// lifetime, in index order, on every member: that is what makes every
// node's metadata image the same. The owner snapshots its state now and
// then (Snapshot), which compacts the log; a member that lacks compacted
// entries, or restarts from a snapshot, gets the state through Load.
// Membership changes are not supported.
package quorum

import (
	"errors"
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"
)

// Storage persists raft's state durably; neither method may return before
// what it was given is durable.
type Storage interface {
	Save(hs *pb.HardState, entries []*pb.Entry) error
	// SaveSnapshot keeps snap, and may drop the entries it covers.
	SaveSnapshot(snap *pb.Snapshot) error
}

// Config configures a member.
type Config struct {
	ID    uint64
	Peers []uint64
	// ElectionTicks and HeartbeatTicks are in Ticks (raft's
	// ElectionTick, HeartbeatTick).
	ElectionTicks, HeartbeatTicks int
	// Durable persists state; nil keeps it in memory only (tests).
	Durable Storage
	// Restore is what Durable held at start-up: a member restarts from
	// it instead of bootstrapping.
	Restore *Restored
	// Apply receives committed entries' data, in order.
	Apply func(index uint64, data []byte) error
	// Load replaces the owner's state with a snapshot's data (taken by
	// Snapshot at index): at start-up when Restore holds one, and when the
	// leader sends one because the entries this member lacks are
	// compacted away. Apply continues after index.
	Load func(index uint64, data []byte) error
}

// Restored is a member's persisted state.
type Restored struct {
	HardState *pb.HardState
	// Snapshot, when set, covers the entries up to its index; Entries
	// follow it.
	Snapshot *pb.Snapshot
	Entries  []*pb.Entry
}

// Member is one replica of the metadata log.
type Member struct {
	id      uint64
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	durable Storage
	apply   func(uint64, []byte) error
	load    func(uint64, []byte) error
	// confState is the membership as of the last applied entry, for
	// snapshots.
	confState *pb.ConfState
}

// New starts a member: bootstrapped with its peers when there is nothing
// to restore.
func New(cfg Config) (*Member, error) {
	if cfg.Apply == nil {
		return nil, errors.New("quorum: no Apply")
	}
	if cfg.Load == nil {
		cfg.Load = func(uint64, []byte) error { return errors.New("quorum: no Load for a snapshot") }
	}
	st := raft.NewMemoryStorage()
	m := &Member{id: cfg.ID, storage: st, durable: cfg.Durable, apply: cfg.Apply, load: cfg.Load, confState: &pb.ConfState{}}
	rc := &raft.Config{
		ID: cfg.ID, ElectionTick: cfg.ElectionTicks, HeartbeatTick: cfg.HeartbeatTicks, Storage: st,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, CheckQuorum: true, PreVote: true,
		Logger: discardLogger{},
	}
	restart := cfg.Restore != nil && (len(cfg.Restore.Entries) > 0 || !raft.IsEmptyHardState(cfg.Restore.HardState) ||
		(cfg.Restore.Snapshot != nil && !raft.IsEmptySnap(cfg.Restore.Snapshot)))
	if restart {
		entries := cfg.Restore.Entries
		if snap := cfg.Restore.Snapshot; snap != nil && !raft.IsEmptySnap(snap) {
			if err := st.ApplySnapshot(snap); err != nil {
				return nil, err
			}
			idx := snap.GetMetadata().GetIndex()
			m.confState = proto.Clone(snap.GetMetadata().GetConfState()).(*pb.ConfState)
			if err := cfg.Load(idx, snap.GetData()); err != nil {
				return nil, fmt.Errorf("quorum: loading the snapshot at %d: %w", idx, err)
			}
			rc.Applied = idx
			for len(entries) > 0 && entries[0].GetIndex() <= idx {
				entries = entries[1:]
			}
		}
		if err := st.Append(entries); err != nil {
			return nil, err
		}
		if cfg.Restore.HardState != nil {
			if err := st.SetHardState(cfg.Restore.HardState); err != nil {
				return nil, err
			}
		}
	}
	rn, err := raft.NewRawNode(rc)
	if err != nil {
		return nil, err
	}
	m.rn = rn
	if !restart {
		peers := make([]raft.Peer, len(cfg.Peers))
		for i, p := range cfg.Peers {
			peers[i] = raft.Peer{ID: p}
		}
		if err := rn.Bootstrap(peers); err != nil {
			return nil, fmt.Errorf("quorum: bootstrap: %w", err)
		}
	}
	return m, nil
}

// ID is this member's id.
func (m *Member) ID() uint64 { return m.id }

// Campaign starts an election now instead of after an election timeout
// (a single voter elects itself at once).
func (m *Member) Campaign() error { return m.rn.Campaign() }

// Tick advances raft's logical clock.
func (m *Member) Tick() { m.rn.Tick() }

// Step hands raft a message from a peer.
func (m *Member) Step(msg *pb.Message) error { return m.rn.Step(msg) }

// Propose asks to append data; only the leader's proposals are accepted
// (ErrProposalDropped otherwise, and while no leader is known).
func (m *Member) Propose(data []byte) error { return m.rn.Propose(data) }

// Leader is the leader this member knows (0: none).
func (m *Member) Leader() uint64 { return m.rn.Status().Lead }

// Term is raft's current term.
func (m *Member) Term() uint64 { return m.rn.Status().GetTerm() }

// Status is the member's view of the quorum (DescribeQuorum).
type Status struct {
	Leader, Term uint64
	// Commit is the highest committed index (Kafka's high watermark);
	// LastIndex this member's last log index (its log end offset).
	Commit, LastIndex uint64
	// Match is, on the leader, each voter's highest index known to be in
	// its log (this member's own included); nil on a follower.
	Match map[uint64]uint64
}

// Status reads the member's raft state.
func (m *Member) Status() Status {
	bs := m.rn.BasicStatus()
	last, _ := m.storage.LastIndex()
	s := Status{Leader: bs.Lead, Term: bs.GetTerm(), Commit: bs.GetCommit(), LastIndex: last}
	if bs.RaftState == raft.StateLeader {
		s.Match = map[uint64]uint64{}
		m.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) { s.Match[id] = pr.Match })
	}
	return s
}

// MatchOf is, on the leader, a voter's match index (ok false elsewhere).
func (m *Member) MatchOf(voter uint64) (match uint64, ok bool) {
	if m.rn.BasicStatus().RaftState != raft.StateLeader {
		return 0, false
	}
	m.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if id == voter {
			match, ok = pr.Match, true
		}
	})
	return match, ok
}

// LastIndex is the member's last log index.
func (m *Member) LastIndex() uint64 {
	last, _ := m.storage.LastIndex()
	return last
}

// IsLeader reports whether this member leads.
func (m *Member) IsLeader() bool { return m.rn.Status().RaftState == raft.StateLeader }

// Drive runs raft's Ready loop until nothing is ready and returns the
// messages to send.
func (m *Member) Drive() ([]*pb.Message, error) {
	var out []*pb.Message
	for m.rn.HasReady() {
		rd := m.rn.Ready()
		if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
			// The leader compacted what this member lacks: take its state.
			if m.durable != nil {
				if err := m.durable.SaveSnapshot(rd.Snapshot); err != nil {
					return out, fmt.Errorf("quorum: persisting a snapshot: %w", err)
				}
			}
			if err := m.storage.ApplySnapshot(rd.Snapshot); err != nil {
				return out, err
			}
			m.confState = proto.Clone(rd.Snapshot.GetMetadata().GetConfState()).(*pb.ConfState)
			if err := m.load(rd.Snapshot.GetMetadata().GetIndex(), rd.Snapshot.GetData()); err != nil {
				return out, fmt.Errorf("quorum: loading a snapshot: %w", err)
			}
		}
		if len(rd.Entries) > 0 || !raft.IsEmptyHardState(rd.HardState) {
			if m.durable != nil {
				if err := m.durable.Save(rd.HardState, rd.Entries); err != nil {
					return out, fmt.Errorf("quorum: persisting: %w", err)
				}
			}
			if err := m.storage.Append(rd.Entries); err != nil {
				return out, err
			}
			if !raft.IsEmptyHardState(rd.HardState) {
				if err := m.storage.SetHardState(rd.HardState); err != nil {
					return out, err
				}
			}
		}
		out = append(out, rd.Messages...)
		for _, msg := range rd.Messages {
			if msg.GetType() == pb.MsgSnap {
				// Delivery is best effort and nobody reports back: let the
				// leader probe again after a heartbeat, and send another
				// snapshot if this one was lost.
				m.rn.ReportSnapshot(msg.GetTo(), raft.SnapshotFinish)
			}
		}
		for _, e := range rd.CommittedEntries {
			if e.GetType() == pb.EntryNormal && len(e.GetData()) > 0 {
				if err := m.apply(e.GetIndex(), e.GetData()); err != nil {
					return out, fmt.Errorf("quorum: applying entry %d: %w", e.GetIndex(), err)
				}
			}
			switch e.GetType() {
			case pb.EntryConfChange:
				cc := new(pb.ConfChange)
				if err := proto.Unmarshal(e.GetData(), cc); err != nil {
					return out, err
				}
				m.confState = m.rn.ApplyConfChange(cc)
			case pb.EntryConfChangeV2:
				cc := new(pb.ConfChangeV2)
				if err := proto.Unmarshal(e.GetData(), cc); err != nil {
					return out, err
				}
				m.confState = m.rn.ApplyConfChange(cc)
			}
		}
		m.rn.Advance(rd)
	}
	return out, nil
}

// Snapshot records that the owner's state as of applied entry index is
// data, makes it durable, and drops the entries it covers. A member whose
// peers need those entries is sent the snapshot instead (Config.Load).
func (m *Member) Snapshot(index uint64, data []byte) error {
	snap, err := m.storage.CreateSnapshot(index, m.confState, data)
	if errors.Is(err, raft.ErrSnapOutOfDate) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.durable != nil {
		if err := m.durable.SaveSnapshot(snap); err != nil {
			return err
		}
	}
	if err := m.storage.Compact(index); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return err
	}
	return nil
}

type discardLogger struct{}

func (discardLogger) Debug(...any)            {}
func (discardLogger) Debugf(string, ...any)   {}
func (discardLogger) Error(...any)            {}
func (discardLogger) Errorf(string, ...any)   {}
func (discardLogger) Info(...any)             {}
func (discardLogger) Infof(string, ...any)    {}
func (discardLogger) Warning(...any)          {}
func (discardLogger) Warningf(string, ...any) {}
func (discardLogger) Fatal(v ...any)          { panic(fmt.Sprint(v...)) }
func (discardLogger) Fatalf(f string, v ...any) {
	panic(fmt.Sprintf(f, v...))
}
func (discardLogger) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (discardLogger) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }

// CaughtUp reports whether this member leads and has applied an entry of
// its own term (raft commits an empty one on election): everything
// committed before it has been applied, so decisions made now see the
// whole log.
func (m *Member) CaughtUp() bool {
	st := m.rn.Status()
	if st.RaftState != raft.StateLeader || st.Applied == 0 {
		return false
	}
	t, err := m.storage.Term(st.Applied)
	return err == nil && t == st.GetTerm()
}
