package main

// rill consume --share-group G: a share group member (KIP-932) with kgo's
// share consumer. The broker decides which records this member gets;
// each printed record is acknowledged ACCEPT (after it is written out, so
// a consumer that dies before printing a record leaves it to be delivered
// again: at least once), and on the way out the acknowledgements are
// flushed and the member leaves, releasing what it still held.

import (
	"context"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kgo"
)

// shareConsumeOpts are the kgo options of a share group member.
func shareConsumeOpts(f consumeFlags) ([]kgo.Opt, error) {
	switch {
	case f.groupID != "":
		return nil, usageErrorf("consume: --group and --share-group exclude each other")
	case f.partition >= 0:
		return nil, usageErrorf("consume: --share-group and --partition exclude each other: the broker hands out the records")
	case f.fromSet:
		return nil, usageErrorf("consume: --share-group starts where the group's share.auto.offset.reset says, not --from (rill config alter group %s --set share.auto.offset.reset=earliest)", f.shareGroup)
	case f.isolationSet:
		return nil, usageErrorf("consume: --share-group reads as the group's share.isolation.level says, not --isolation (rill config alter group %s --set share.isolation.level=read_committed)", f.shareGroup)
	}
	opts := []kgo.Opt{kgo.ShareGroup(f.shareGroup), kgo.ConsumeTopics(f.topic)}
	if f.count > 0 {
		// Ask for no more than will be printed: what a fetch acquires
		// beyond --count is only released again on the way out.
		opts = append(opts, kgo.ShareMaxRecords(int32(min(f.count, 500))))
	}
	return opts, nil
}

// consumeShared polls as a share group member until --count records were
// printed, --idle passed without one, or ctx ends.
func consumeShared(ctx context.Context, tf *toolFlags, f consumeFlags, opts []kgo.Opt, w, stderr io.Writer) error {
	cl, err := tf.client(opts...)
	if err != nil {
		return err
	}
	defer closeShareConsumer(cl, stderr)
	return printPolled(ctx, cl, f, w, func(recs []*kgo.Record, printErr error) error {
		if printErr != nil {
			// Not printed: released, so another member gets them.
			cl.MarkAcks(kgo.AckRelease, recs...)
			return printErr
		}
		cl.MarkAcks(kgo.AckAccept, recs...)
		return nil
	})
}

// closeShareConsumer sends the acknowledgements still pending and leaves
// the share group, each bounded by leaveTimeout, then closes the client.
func closeShareConsumer(cl *kgo.Client, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	if err := cl.FlushAcks(ctx); err != nil {
		fmt.Fprintf(stderr, "rill consume: acknowledging: %v\n", err)
	}
	if err := cl.LeaveGroupContext(ctx); err != nil {
		fmt.Fprintf(stderr, "rill consume: leaving the share group: %v\n", err)
	}
	cl.Close()
}
