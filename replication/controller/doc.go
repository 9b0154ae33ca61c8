// Package controller is the cluster controller's logic (KRaft's design):
// the metadata image every node holds, the records that change it, and the
// active controller's decisions, all pure. Decisions are records: the
// controller proposes them to the metadata log, and every node, the
// controller included, changes its Image only by applying committed
// records in order (Image.Apply), so all nodes answer Metadata alike.
//
// The quorum that orders the records (go.etcd.io/raft/v3) is package
// quorum; the driver that ticks, proposes and applies is package node.
//
// Errors are the package's sentinels (errors.go), never Kafka codes: a
// controller node maps them to codes where it answers a broker.
//
// Decisions:
//
//   - Brokers register and heartbeat; a broker silent for
//     broker.session.timeout.ms is fenced: removed from every ISR it is in
//     (unless it is the last member, so committed data keeps a home), and
//     every partition it led gets a new leader from the rest of the ISR,
//     with a new leader epoch. With no live ISR member the partition has no
//     leader (-1): unclean.leader.election.enable is off.
//   - A fenced broker that heartbeats again is unfenced; partitions without
//     a leader whose ISR includes it elect it.
//   - AlterPartition from a leader applies an ISR change only if it names
//     the current leader epoch and partition epoch (ErrStaleLeader,
//     ErrStalePartitionEpoch otherwise), and only adds unfenced brokers.
//   - CreateTopics places replicas round-robin over unfenced brokers,
//     alternating racks when broker.rack is set, rotating the first
//     (preferred leader) replica across brokers.
//   - ElectLeaders moves leadership back to the preferred replica when it
//     is in the ISR and unfenced.
//   - CreateACLs, DeleteACLs and AlterScramCredentials keep the cluster's
//     ACLs and SCRAM credentials (security.go) as Kafka's controller does;
//     new ACLs' ids come from the caller, so the decisions stay pure.
//   - AlterClientQuotas keeps the client quotas (quotas.go) with the
//     rules of Kafka's ClientQuotaControlManager; DescribeClientQuotas
//     filters them as Kafka's ClientQuotasImage does, for brokers.
//   - AlterGroupConfigs replaces a group's config overrides
//     (groupconfigs.go); brokers validate them first.
//
// Every change of a partition's leader or ISR bumps its partition epoch; a
// change of leader bumps its leader epoch.
//
// Decisions made together (one Tick, one batch of requests) are made in
// turn, each on the image with the earlier ones' records applied: Tick
// works on its own copy, a batch on a copy given to Rebase. Decided side
// by side on one image, a later record would undo an earlier one. The
// invariants the records keep are listed in docs/design/replication.md
// and checked by TestControllerSimulation.
package controller
