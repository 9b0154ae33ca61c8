package main

import (
	"context"
	"fmt"
	stdlog "log"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
	"github.com/rillmq/rill/replication/quorum"
	"github.com/rillmq/rill/replication/transport"
)

// parseVoters reads controller.quorum.voters: "1@host:port,2@host:port".
func parseVoters(s string) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, v := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(v), "@")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil || n == 0 || addr == "" {
			return nil, fmt.Errorf("controller.quorum.voters: %q is not id@host:port", v)
		}
		out[n] = addr
	}
	return out, nil
}

// startController runs this process's controller node when process.roles
// names the controller role, and the broker's registration with the
// active controller when it also names the broker role. The quorum is
// controller.quorum.voters; its metadata log lives in
// <data>/__cluster_metadata. The returned function stops both.
//
// The brokers do not act on the metadata yet: they still serve as single
// brokers (docs/design/replication.md).
func startController(cfg *brokerConfig, dataDir, host string, port int32, logger *stdlog.Logger) (func(), error) {
	roles := cfg.get("process.roles", "broker")
	if !strings.Contains(roles, "controller") {
		return func() {}, nil
	}
	voters, err := parseVoters(cfg.get("controller.quorum.voters", ""))
	if err != nil {
		return nil, err
	}
	id, err := cfg.int64("node.id", 1)
	if err != nil {
		return nil, err
	}
	self, ok := voters[uint64(id)]
	if !ok {
		return nil, fmt.Errorf("node.id %d is not in controller.quorum.voters", id)
	}
	session, err := cfg.int64("broker.session.timeout.ms", 9000)
	if err != nil {
		return nil, err
	}
	heartbeat, err := cfg.int64("broker.heartbeat.interval.ms", 2000)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, "__cluster_metadata")
	if err := vfs.Default.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	wal, restored, err := quorum.OpenWAL(vfs.Default, filepath.Join(dir, "raft.wal"))
	if err != nil {
		return nil, err
	}
	var target atomic.Pointer[node.Node]
	deliver := func(m *pb.Message) {
		if n := target.Load(); n != nil {
			n.Deliver(m)
		}
	}
	handle := func(b []byte) []byte {
		if n := target.Load(); n != nil {
			return n.HandleRPC(b)
		}
		return []byte(`{"ErrorCode":41}`) // NOT_CONTROLLER while starting
	}
	tr, err := transport.Listen(self, voters, deliver, handle, logger.Printf)
	if err != nil {
		wal.Close()
		return nil, err
	}
	ids := make([]uint64, 0, len(voters))
	for v := range voters {
		ids = append(ids, v)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	n, err := node.Start(node.Config{ID: uint64(id), Voters: ids, SessionTimeout: time.Duration(session) * time.Millisecond,
		Durable: wal, Restore: restored, Send: tr.Send, Logf: logger.Printf})
	if err != nil {
		tr.Close()
		wal.Close()
		return nil, err
	}
	target.Store(n)
	logger.Printf("controller %d: quorum member on %s, voters %v", id, self, voters)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if strings.Contains(roles, "broker") {
		addrs := make([]string, 0, len(ids))
		for _, v := range ids {
			addrs = append(addrs, voters[v])
		}
		info := controller.BrokerInfo{ID: int32(id), Host: host, Port: port, Rack: cfg.get("broker.rack", "")}
		go func() {
			defer close(done)
			node.RunBroker(ctx, info, addrs, time.Duration(heartbeat)*time.Millisecond, transport.Call, logger.Printf)
		}()
	} else {
		close(done)
	}
	return func() {
		cancel()
		<-done
		n.Stop()
		tr.Close()
		wal.Close()
	}, nil
}
