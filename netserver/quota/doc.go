// Package quota is a broker's client quota bookkeeping, as Kafka's
// ClientQuotaManager, ClientRequestQuotaManager and
// ControllerMutationQuotaManager keep it (KIP-13, KIP-124, KIP-219,
// KIP-599): which quota applies to a request, how much of it the client
// has used, and how long it must wait. No goroutines, clock, disk or
// sockets: every call takes the time (now), so tests drive it with a fake
// clock; the handlers record and the transports mute connections.
//
// # Which quota
//
// Quotas are set on entities (Entity): a user, a client id, or both, each
// a name or the default. Per kind (Produce: producer_byte_rate, Fetch:
// consumer_byte_rate, Request: request_percentage, ControllerMutation:
// controller_mutation_rate) the first entity with a quota of that kind in
// Kafka's order applies to a request of user u and client id c:
//
//	/users/u/clients/c          (1)   /users/default/clients/default (5)
//	/users/u/clients/default    (2)   /users/default                 (6)
//	/users/u                    (3)   /clients/c                     (7)
//	/users/default/clients/c    (4)   /clients/default               (8)
//
// and its usage is shared by every request of the same (user, client id)
// at levels 1, 2, 4 and 5, of the same user at 3 and 6, and of the same
// client id at 7 and 8 (Kafka's metric tags). No entity: no quota.
//
// # How much, how long
//
// Byte and request quotas are Kafka's windowed Rate (SampledStat, as of
// Kafka 4): Samples windows of Window each (quota.window.num = 11,
// quota.window.size.seconds = 1). A record that finds its window Window
// old opens the next one; Samples+1 windows are kept, and one without a
// record for Samples windows is forgotten; the rate divides the windows'
// sum by the time since the oldest window started, counted as at least
// Samples-1 windows (so a new client may use up to Samples-1 windows'
// quota at once). Each request is recorded first; if the rate is then
// above the quota Q the request is throttled for
//
//	(rate - Q) / Q * window span
//
// the time that brings the rate back to Q (request quotas: at most one
// Window). Fetch quotas also bound a fetch to Q * (Samples-1) * Window
// bytes (MaxValueInWindow), and a throttled fetch is unrecorded: its data
// is not sent. A client that always has more to send gets Q over each
// span, in bursts: once the window holding a burst is forgotten, the next
// burst goes through and the client then waits most of a span.
//
// Controller mutations are Kafka's TokenBucket: partitions created or
// deleted spend tokens, refilled at Q per second up to a burst of Q *
// Samples * Window. A strict quota (new request versions) refuses a
// mutation while the bucket is below zero, throttled for -tokens/Q; a
// permissive one (old versions) lets it through and only throttles.
//
// # Cost
//
// Active is one atomic load: with no quota of a kind configured, that is
// all a request pays. A sensor (the usage of one metric key) has its own
// lock; the quota table is an immutable snapshot behind an atomic pointer,
// replaced whole by SetQuotas. Sensors unused for an hour are dropped, as
// Kafka's expire.
package quota
