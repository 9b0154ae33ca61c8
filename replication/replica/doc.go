// Package replica runs a cluster broker's partition replicas: for every
// partition with a replica on this broker, the broker either leads it or
// follows its leader, as the controller's metadata says (Manager.Sync).
//
// A leader drives the pure state machine of package isr: produced appends
// (Partition.Append) and follower fetches (Partition.FollowerFetch) go in;
// the high watermark, finished acks=all waits and ISR changes come out.
// The ISR changes go to the active controller (Config.AlterPartition) one
// at a time; the leader learns the outcome from the metadata it syncs.
// Appends carry the leader epoch the leader was elected with.
//
// A follower has one fetcher per leader broker, sending Kafka Fetch
// requests with this broker's replica id, its log end as the fetch offset
// and its latest leader epoch as LastFetchedEpoch, in an incremental
// fetch session with the leader (fetch_session.go: only partitions whose
// position moved are named, only those that changed are answered). The
// leader answers a
// follower whose history diverged from its own with a DivergingEpoch; the
// follower truncates to isr.Divergence and fetches again. Batches are
// appended at the leader's offsets (log.AppendOptions.AssignOffsets
// false); the follower's high watermark is the leader's, capped at its own
// log end.
//
// Locking: a Partition's role lock is held exclusively while its
// leadership changes, and shared by appends, leader-side fetch handling and
// follower appends, so none of them sees half a transition. Its mu guards
// the isr.Leader and the acks=all waiters beneath that.
//
// High watermarks are checkpointed through Config.SaveHighWatermarks and
// restored from Config.HighWatermarks. A replica set that changes
// (reassignment) comes with a new leader epoch, so the leader starts over
// with its new followers.
package replica
