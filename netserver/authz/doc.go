// Package authz is Rill's authorizer: Kafka's ACL model and the decisions
// of Kafka's StandardAuthorizer (org.apache.kafka.metadata.authorizer),
// pure and in memory. It has no I/O, clock or goroutines; the broker feeds
// it ACLs from the metadata log and asks it questions.
//
// # Model
//
// A Binding is one ACL: a resource Pattern (type, name, LITERAL or
// PREFIXED; the LITERAL name "*" is every name) and an Entry (principal
// "Type:name" or "User:*", host or "*", operation, ALLOW or DENY). Codes
// are Kafka's (and kmsg's) numbers. Binding.Validate refuses what Kafka's
// CreateAcls refuses. A Filter selects bindings as DescribeAcls and
// DeleteAcls do, with ANY and MATCH.
//
// # Contract
//
//   - ACLs are identified by an ID (the Uuid of Kafka's
//     AccessControlEntryRecord). Add and Remove replay the metadata log's
//     records (Record, DecodeRecord) in log order; the controller creates
//     ids and uses Find to skip duplicate creations, as Kafka's does.
//   - Authorize answers one Request (principal, host, operation,
//     resource) with the rules documented on it: super users, DENY over
//     ALLOW, literal / wildcard / prefixed patterns, "User:*" and host
//     "*", implied DESCRIBE and DESCRIBE_CONFIGS, and
//     allow.everyone.if.no.acl.found when no ACL applies to the resource.
//     AuthorizeAny is Kafka's authorizeByResourceType, and
//     AuthorizedOperations the authorized-operations bit field.
//   - Required is the per-API table of checks (Kafka's "Operations and
//     Resources on Protocols"), DeniedError the error code per resource
//     type; kmsg.go converts the ACL APIs' messages and answers them.
//   - Unlike Kafka, there is no "not ready" state: until the broker has
//     replayed the log it must not call Authorize (Kafka answers
//     AuthorizerNotReadyException there).
//
// # Concurrency and cost
//
// Authorize and the listing methods are safe from any number of
// goroutines while one goroutine calls Add and Remove. The request path
// takes no lock on the ACLs: it reads an immutable index of the current
// generation (every Add or Remove starts a new one; the first request
// after it rebuilds the index, O(n log n)), indexed by resource type,
// exact name and a sorted slice of prefixes, and a decision cache of that
// generation (a direct-mapped table of Config.CacheSize atomic slots, no
// lock on a hit or a fill) that makes a repeated question one hash and
// one atomic load.
package authz
