// Package broker is a broker's side of the cluster, Kafka's
// BrokerLifecycleManager and metadata publisher in one place:
//
//   - Lifecycle registers the broker with the active controller and
//     heartbeats; its Session says whether the broker may act as a leader
//     (a broker cut off from the quorum for its session timeout steps down).
//   - A Source is the metadata image the broker serves from: its own
//     controller node's (replication/node) or, on a broker-only node, a
//     copy of a controller's (Remote).
//   - Runtime ties them together: it applies each new image to this
//     broker (creates and deletes the local partitions assigned to it,
//     hands their state to the replica manager, package replica), publishes
//     leadership changes to the coordinators and handlers through
//     Listener, feeds the image's ACLs to the authorizer (ACLSink) and
//     keeps its SCRAM credentials for SASL, hands its client quotas to the
//     quota enforcement (QuotaSink), and answers the handlers' questions
//     (which brokers, which leader, ask the controller to create a topic,
//     an ACL or a quota) from the image.
//
// Concurrency: Runtime's methods are safe for concurrent use. The image is
// read under the source's lock and copied out; no lock is held across disk
// or network I/O. One goroutine (the publisher) applies images in order,
// woken by the source's change signal and the session's.
//
// The package never imports netserver: the handlers reach it through the
// interface they declare (handler.Cluster), and it reaches them through
// Listener.
package broker
