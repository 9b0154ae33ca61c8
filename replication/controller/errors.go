package controller

import "errors"

// Errors of the controller's decisions, in the metadata's own terms. They
// carry no Kafka error codes: the one wire edge they cross, a controller
// node's answer to a broker (replication/node's rpc.go), maps them to
// codes. A decision may wrap one with detail (errors.Is finds it).
var (
	// ErrBrokerNotRegistered: the broker is not in the image (or, for a
	// producer id block, is fenced).
	ErrBrokerNotRegistered = errors.New("controller: broker not registered")
	// ErrUnknownTopic: no such topic or partition.
	ErrUnknownTopic = errors.New("controller: unknown topic or partition")
	// ErrTopicExists: a topic of that name exists.
	ErrTopicExists = errors.New("controller: topic exists")
	// ErrStaleLeader: an ISR change from a broker that is not the
	// partition's leader at the leader epoch it names.
	ErrStaleLeader = errors.New("controller: not the leader at that leader epoch")
	// ErrStalePartitionEpoch: an ISR change decided on an older partition
	// state than the image's.
	ErrStalePartitionEpoch = errors.New("controller: stale partition epoch")
	// ErrInvalidISR: a proposed ISR without its leader, or naming a broker
	// that is not a replica.
	ErrInvalidISR = errors.New("controller: invalid ISR")
	// ErrIneligibleReplica: a proposed ISR adds a fenced broker.
	ErrIneligibleReplica = errors.New("controller: ineligible replica")
	// ErrNoReassignment: cancelling a reassignment that is not in progress.
	ErrNoReassignment = errors.New("controller: no reassignment in progress")
	// ErrInvalidAssignment: replicas that are not registered brokers, named
	// twice, of the wrong count, or all fenced; or a move that cannot be
	// undone without an unclean election.
	ErrInvalidAssignment = errors.New("controller: invalid replica assignment")
	// ErrInvalidPartitions: a partition count that is not positive, or not
	// larger than the topic's.
	ErrInvalidPartitions = errors.New("controller: invalid partition count")
	// ErrInvalidReplicationFactor: more replicas than live brokers, or none.
	ErrInvalidReplicationFactor = errors.New("controller: invalid replication factor")
	// ErrElectionNotNeeded: the partition already has the leader the
	// election would give it.
	ErrElectionNotNeeded = errors.New("controller: election not needed")
	// ErrPreferredLeaderNotAvailable: the first replica is fenced or out of
	// the ISR.
	ErrPreferredLeaderNotAvailable = errors.New("controller: preferred leader not available")
	// ErrEligibleLeadersNotAvailable: no live replica to elect.
	ErrEligibleLeadersNotAvailable = errors.New("controller: no eligible leader")
	// ErrInvalidElectionType: an election type other than preferred (0)
	// and unclean (1).
	ErrInvalidElectionType = errors.New("controller: invalid election type")
	// ErrInvalidACL: an ACL binding or filter with an unknown or
	// unsuitable code, or an empty resource name.
	ErrInvalidACL = errors.New("controller: invalid acl")
	// ErrACLIDInUse: a new ACL's id is already taken (the caller chose
	// it).
	ErrACLIDInUse = errors.New("controller: acl id in use")
	// ErrUnsupportedScramMechanism: a SCRAM mechanism other than
	// SCRAM-SHA-256 and SCRAM-SHA-512.
	ErrUnsupportedScramMechanism = errors.New("controller: unsupported SCRAM mechanism")
	// ErrUnacceptableCredential: a SCRAM credential with an empty user,
	// iterations out of bounds, or no salt or salted password.
	ErrUnacceptableCredential = errors.New("controller: unacceptable SCRAM credential")
	// ErrScramCredentialNotFound: deleting a SCRAM credential that does
	// not exist.
	ErrScramCredentialNotFound = errors.New("controller: SCRAM credential not found")
	// ErrDuplicateUser: a user named twice in one SCRAM alteration.
	ErrDuplicateUser = errors.New("controller: user named twice")
	// ErrInvalidQuota: a client quota alteration Kafka's controller
	// refuses (its entity, a key or a value; quotas.go).
	ErrInvalidQuota = errors.New("controller: invalid client quota")
	// ErrInvalidQuotaFilter: a DescribeClientQuotas filter Kafka refuses
	// as an invalid request.
	ErrInvalidQuotaFilter = errors.New("controller: invalid client quota filter")
	// ErrUnsupportedQuotaFilter: a DescribeClientQuotas filter naming an
	// entity type Kafka does not know.
	ErrUnsupportedQuotaFilter = errors.New("controller: unsupported client quota entity type")
	// ErrInvalidGroupConfig: group configs for an empty group name, or
	// with an empty config name (groupconfigs.go; brokers validate names
	// and values before they ask).
	ErrInvalidGroupConfig = errors.New("controller: invalid group config")
)
