// Package sharepart is one share partition's in-flight record state (KIP-932,
// with KIP-1222's RENEW and KIP-1206's record_limit acquire mode) as a pure
// state machine, after Kafka 4.2's SharePartition: no goroutines, clock or
// I/O. Time is an argument, and the caller (the broker's share-partition
// manager on the partition leader) serializes calls: a *Partition is not
// safe for concurrent use.
//
// # The window
//
// A share group consumes a partition through the in-flight window
// [StartOffset, EndOffset). Below StartOffset (the SPSO) every record is
// done; at and past EndOffset nothing was handed out yet. Every offset of
// the window has a state and a delivery count:
//
//	StateAvailable    (0) may be acquired (again)
//	StateAcquired     (1) handed to one member, locked until a deadline
//	StateAcknowledged (2) accepted by the member: done
//	StateArchived     (4) rejected, out of deliveries, or not a record: done
//
// Offsets that are not records (a gap in the log) are Archived with
// delivery count 0, as Kafka stores GAP acknowledgements.
//
// States are kept as runs of equal state, count, owner and deadline, so a
// batch acquired whole is one entry however many records it has; a run is
// split only where records come to differ (one record of a batch released,
// a batch acquired partly in record_limit mode).
//
// Transitions:
//
//	Available → Acquired       Acquire (delivery count +1; owner, deadline now+LockDuration)
//	Available → Archived       Acquire, for records at the delivery limit or absent from the log read
//	Acquired  → Acknowledged   Acknowledge ACCEPT
//	Acquired  → Archived       Acknowledge REJECT or GAP
//	Acquired  → Available      Acknowledge RELEASE, Expire (lock timed out); Archived instead
//	                           when the delivery count reached DeliveryLimit
//	Acquired  → Available      ReleaseMember (the member left or its share session closed): the
//	                           records were not processed, so, as Kafka 4.2, the delivery count
//	                           goes back down by one and the record is never archived for it
//	Acquired  → Acquired       Acknowledge RENEW (the lock's deadline becomes now+LockDuration)
//
// After every change StartOffset moves past the leading done records and
// their state is dropped, so the record at StartOffset is never done. If
// every record is done the window is empty (StartOffset == EndOffset).
// MoveStartOffset drops records below a new start (the log start moved, by
// retention or DeleteRecords), acquired ones included.
//
// # Acquire
//
// The leader reads the log from FetchOffset (the lowest Available offset of
// the window, else EndOffset) and hands the record batches it read (only
// their offset ranges) to Acquire. Acquire takes Available records of the
// window that the batches cover, then new records past EndOffset, growing
// the window, within two limits: maxRecords (by default whole log batches,
// so the last one may go past it; strict, share.acquire.mode=record_limit,
// stops at exactly maxRecords, splitting a batch) and MaxInFlight for the
// window's growth (new records are taken only while EndOffset-StartOffset
// is below MaxInFlight; as Kafka, in the default mode the batch that
// crosses the limit is taken whole, so an empty window always takes at
// least its first batch). Offsets the read shows absent (between the read's
// start and its first batch, and between batches: compacted or deleted)
// are not records: Available ones in the window are Archived, and a gap the
// window grows over is Archived. So are the offsets of batches the leader
// marks Skip (control batches, aborted transactions under read_committed).
// Records Acquired by a member stay so even if the read shows them absent:
// the member acknowledges them (as GAP, when it finds them missing).
//
// As Kafka 4.2, records that keep coming back are delivered throttled, so
// that one bad record does not take its whole batch to the delivery limit:
// a batch holding an Available record delivered at least half the delivery
// limit times (rounded up, at least 2) is delivered only first in a
// response and ends it, with at most len(batch) >> (count-half+1) of its
// records, and a record on its last delivery alone.
//
// The result lists the acquired ranges in
// offset order with their delivery counts (one entry per run of equal
// count), as ShareFetch's AcquiredRecords.
//
// # Acknowledge
//
// Acknowledge applies one acknowledgement batch of a ShareFetch or
// ShareAcknowledge for one member, atomically: either every offset
// changes or none does; AcknowledgeBatches applies all the batches of one
// partition in a request so (they must be in order, not overlapping), as
// Kafka rolls back a partition's batches when one fails. Offsets below StartOffset are skipped (they are
// done already, or the log start moved past them: Kafka ignores them too).
// Every other offset must be in the window (else INVALID_REQUEST, Kafka's
// "offsets past acquired records") and Acquired by the member (else
// INVALID_RECORD_STATE). A malformed batch (first > last, no types, a types
// list neither one long nor one per offset, an unknown type) is
// INVALID_REQUEST.
//
// # Persistence
//
// Persisted is what the share coordinator stores (ShareGroupState: the
// start offset and state batches First, Last, State, DeliveryCount): the
// whole window, adjacent records of equal state and count merged. An
// Acquired record is stored as Available with its delivery count, so after
// a leader failover it is delivered again, counted. New restores a
// partition from it: offsets of the window no batch covers (Kafka writes
// only what changed, so a stored state can have holes) are Available with
// delivery count 0, the end offset is the last batch's Last+1 (or the start
// offset). Changed reports whether anything Persisted returns changed since
// ClearChanged; acquisitions count, since they raise delivery counts.
// Lock deadlines and owners are not persisted.
//
// # Who calls what
//
// The share-partition manager owns one Partition per (group, topic,
// partition) it leads, restores it with New from the share coordinator's
// ReadShareGroupState, reads the log from FetchOffset when CanAcquire,
// calls Acquire (or AcquireFrom, if it let go of its lock while reading)
// for ShareFetch, AcknowledgeBatches for the acknowledgements of ShareFetch
// and ShareAcknowledge, ReleaseMember when a
// member leaves or its share session closes, Expire at NextDeadline, and
// MoveStartOffset when the log start passes StartOffset; after each it
// writes Persisted to the share coordinator when Changed.
package sharepart
