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
// node's metadata image the same. Not written yet: snapshots and log
// compaction, membership changes, the network transport (issue: cluster).
package quorum

import (
	"errors"
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Storage persists raft's state durably; Save must not return before it
// is durable.
type Storage interface {
	Save(hs *pb.HardState, entries []*pb.Entry) error
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
}

// Restored is a member's persisted state.
type Restored struct {
	HardState *pb.HardState
	Entries   []*pb.Entry
}

// Member is one replica of the metadata log.
type Member struct {
	id      uint64
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	durable Storage
	apply   func(uint64, []byte) error
}

// New starts a member: bootstrapped with its peers when there is nothing
// to restore.
func New(cfg Config) (*Member, error) {
	if cfg.Apply == nil {
		return nil, errors.New("quorum: no Apply")
	}
	st := raft.NewMemoryStorage()
	m := &Member{id: cfg.ID, storage: st, durable: cfg.Durable, apply: cfg.Apply}
	rc := &raft.Config{
		ID: cfg.ID, ElectionTick: cfg.ElectionTicks, HeartbeatTick: cfg.HeartbeatTicks, Storage: st,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, CheckQuorum: true, PreVote: true,
		Logger: discardLogger{},
	}
	restart := cfg.Restore != nil && (len(cfg.Restore.Entries) > 0 || !raft.IsEmptyHardState(cfg.Restore.HardState))
	if restart {
		if err := st.Append(cfg.Restore.Entries); err != nil {
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

// Tick advances raft's logical clock.
func (m *Member) Tick() { m.rn.Tick() }

// Step hands raft a message from a peer.
func (m *Member) Step(msg *pb.Message) error { return m.rn.Step(msg) }

// Propose asks to append data; only the leader's proposals are accepted
// (ErrProposalDropped otherwise, and while no leader is known).
func (m *Member) Propose(data []byte) error { return m.rn.Propose(data) }

// Leader is the leader this member knows (0: none).
func (m *Member) Leader() uint64 { return m.rn.Status().Lead }

// IsLeader reports whether this member leads.
func (m *Member) IsLeader() bool { return m.rn.Status().RaftState == raft.StateLeader }

// Drive runs raft's Ready loop until nothing is ready and returns the
// messages to send.
func (m *Member) Drive() ([]*pb.Message, error) {
	var out []*pb.Message
	for m.rn.HasReady() {
		rd := m.rn.Ready()
		if !raft.IsEmptySnap(rd.Snapshot) {
			return out, errors.New("quorum: snapshots are not supported yet")
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
				m.rn.ApplyConfChange(cc)
			case pb.EntryConfChangeV2:
				cc := new(pb.ConfChangeV2)
				if err := proto.Unmarshal(e.GetData(), cc); err != nil {
					return out, err
				}
				m.rn.ApplyConfChange(cc)
			}
		}
		m.rn.Advance(rd)
	}
	return out, nil
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
