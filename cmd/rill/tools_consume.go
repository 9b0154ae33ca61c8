package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// leaveTimeout bounds how long a group consumer waits for LeaveGroup on
// the way out: a coordinator that does not answer must not keep the tool
// alive (the session timeout then removes the member, as for a crash).
const leaveTimeout = 5 * time.Second

// consumeFlags are rill consume's flags.
type consumeFlags struct {
	topic, from                 string
	partition, count            int
	idle, session               time.Duration
	groupID, balancer, protocol string
	isolation, format           string
	// shareGroup consumes as a share group member (KIP-932); fromSet and
	// isolationSet report --from and --isolation given, which a share
	// group member cannot honour (the group's configs decide).
	shareGroup            string
	fromSet, isolationSet bool
}

// newConsumeCmd: rill consume --topic T prints records of every partition
// (or one) from a starting point. With --group it consumes as a member of
// that consumer group: --from applies only to partitions the group has no
// offset for, and offsets are committed after the records are written out,
// so a consumer that dies is resumed from what it had printed (at least
// once). With --share-group it consumes as a member of that share group
// (KIP-932): the broker hands out records, each printed record is
// acknowledged ACCEPT, and records held when it stops are released to the
// group's other members. Where a share group starts and whether it reads
// committed records only are the group's configs (share.auto.offset.reset,
// share.isolation.level: rill config alter group G), not --from and
// --isolation.
func newConsumeCmd() *cobra.Command {
	c := &cobra.Command{Use: "consume --topic T [--group G | --share-group G] [flags]", Short: "print records from a starting point, or as a consumer group (--group) or share group (--share-group) member", Args: noArgs}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	var f consumeFlags
	fs.StringVar(&f.topic, "topic", "", "topic to consume")
	fs.StringVar(&f.from, "from", "earliest", "earliest, latest, an offset, or @UNIX_MS for the first record at or after that time")
	fs.IntVar(&f.partition, "partition", -1, "only this partition")
	fs.IntVar(&f.count, "count", 0, "stop after this many records (0 = run until --idle)")
	fs.DurationVar(&f.idle, "idle", 0, "stop once no record arrived for this long, counted from when the consumer has its partitions (0 = never, unless --count)")
	fs.StringVar(&f.groupID, "group", "", "consume as a member of this consumer group, committing what was printed")
	fs.DurationVar(&f.session, "session-timeout", 45*time.Second, "with --group: the member's session timeout")
	fs.StringVar(&f.balancer, "balancer", "cooperative-sticky", "with --group: range, roundrobin, sticky or cooperative-sticky (classic); range or uniform (consumer)")
	fs.StringVar(&f.protocol, "group-protocol", "classic", "with --group: classic (client-side assignment) or consumer (KIP-848, the broker assigns)")
	fs.StringVar(&f.isolation, "isolation", "read_uncommitted", "read_uncommitted (every record) or read_committed (only committed transactions' records and non-transactional ones, up to the last stable offset)")
	fs.StringVar(&f.format, "format", "%v\\n", "output: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp (ms), %h headers; \\n \\t")
	fs.StringVar(&f.shareGroup, "share-group", "", "consume as a member of this share group (KIP-932), acknowledging each printed record (ACCEPT); where it starts is the group's share.auto.offset.reset config")
	c.RunE = func(c *cobra.Command, _ []string) error {
		f.fromSet, f.isolationSet = c.Flags().Changed("from"), c.Flags().Changed("isolation")
		return consume(c.Context(), &tf, f, c.OutOrStdout(), c.ErrOrStderr())
	}
	return c
}

// consumeOpts turns the flags into kgo options.
func consumeOpts(f consumeFlags) ([]kgo.Opt, error) {
	if f.topic == "" {
		return nil, usageErrorf("consume: --topic is required")
	}
	start := kgo.NewOffset()
	switch {
	case f.from == "earliest":
		start = start.AtStart()
	case f.from == "latest":
		start = start.AtEnd()
	case strings.HasPrefix(f.from, "@"):
		ms, err := strconv.ParseInt(f.from[1:], 10, 64)
		if err != nil {
			return nil, usageErrorf("consume: --from %q", f.from)
		}
		start = start.AfterMilli(ms)
	default:
		o, err := strconv.ParseInt(f.from, 10, 64)
		if err != nil {
			return nil, usageErrorf("consume: --from %q: want earliest, latest, an offset or @ms", f.from)
		}
		start = start.At(o)
	}
	iso, err := isolationLevel(f.isolation)
	if err != nil {
		return nil, usageErrorf("consume: %w", err)
	}
	if f.shareGroup != "" {
		return shareConsumeOpts(f)
	}
	opts := []kgo.Opt{kgo.FetchIsolationLevel(iso)}
	if f.groupID != "" {
		if f.partition >= 0 {
			return nil, usageErrorf("consume: --group and --partition exclude each other")
		}
		balancers := map[string]kgo.GroupBalancer{"range": kgo.RangeBalancer(), "roundrobin": kgo.RoundRobinBalancer(),
			"sticky": kgo.StickyBalancer(), "cooperative-sticky": kgo.CooperativeStickyBalancer()}
		balancer := f.balancer
		switch f.protocol {
		case "classic":
		case "consumer":
			// kgo asks the broker for "uniform" when given the sticky
			// balancer and for "range" with the range balancer.
			balancers = map[string]kgo.GroupBalancer{"range": kgo.RangeBalancer(), "uniform": kgo.StickyBalancer()}
			if balancer == "cooperative-sticky" {
				balancer = "uniform"
			}
			opts = append(opts, kgo.ServerSideBalancer())
		default:
			return nil, usageErrorf("consume: --group-protocol %q: want classic or consumer", f.protocol)
		}
		b, ok := balancers[balancer]
		if !ok {
			return nil, usageErrorf("consume: --balancer %q is not one of the %s protocol's", balancer, f.protocol)
		}
		opts = append(opts, kgo.ConsumerGroup(f.groupID), kgo.Balancers(b), kgo.DisableAutoCommit(), kgo.SessionTimeout(f.session),
			kgo.HeartbeatInterval(min(3*time.Second, f.session/3)),
			// No rebalance between a poll and its commit, so the commit is
			// for partitions this member still owns.
			kgo.BlockRebalanceOnPoll())
	}
	if f.partition >= 0 {
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{f.topic: {int32(f.partition): start}}))
	} else {
		opts = append(opts, kgo.ConsumeTopics(f.topic), kgo.ConsumeResetOffset(start))
	}
	return opts, nil
}

// assignment is closed once a group member has its first assignment (an
// empty one included: kgo calls OnPartitionsAssigned after every join).
type assignment struct {
	once sync.Once
	done chan struct{}
}

func (a *assignment) assigned(context.Context, *kgo.Client, map[string][]int32) {
	a.once.Do(func() { close(a.done) })
}

func consume(ctx context.Context, tf *toolFlags, f consumeFlags, w, stderr io.Writer) error {
	opts, err := consumeOpts(f)
	if err != nil {
		return err
	}
	if f.shareGroup != "" {
		return consumeShared(ctx, tf, f, opts, w, stderr)
	}
	ready := &assignment{done: make(chan struct{})}
	if f.groupID != "" {
		opts = append(opts, kgo.OnPartitionsAssigned(ready.assigned))
	} else {
		close(ready.done) // direct consumers own their partitions at once
	}
	cl, err := tf.client(opts...)
	if err != nil {
		return err
	}
	defer closeConsumer(cl, f.groupID != "", stderr)
	// The idle clock starts once the member has its partitions: the
	// group's initial rebalance delay and the join can take longer than
	// --idle, and would otherwise end the run before any fetch was made.
	select {
	case <-ready.done:
	case <-ctx.Done():
		return nil
	}
	return printPolled(ctx, cl, f, w, func(recs []*kgo.Record, printErr error) error {
		if printErr != nil {
			return printErr
		}
		if f.groupID != "" {
			if len(recs) > 0 {
				if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
					// The records are delivered again to whoever owns
					// their partition next: at least once.
					fmt.Fprintf(stderr, "rill consume: commit failed: %v\n", err)
				}
			}
			cl.AllowRebalance()
		}
		return nil
	})
}

// printPolled polls cl and prints each record in f's format until f.count
// records were printed, the consumer idled for f.idle, or ctx ended (none
// of which is an error); after each poll's records are written out,
// printed reports them and the write's error, and ends the loop with an
// error of its own.
func printPolled(ctx context.Context, cl *kgo.Client, f consumeFlags, w io.Writer, printed func(recs []*kgo.Record, printErr error) error) error {
	out := bufio.NewWriter(w)
	defer out.Flush()
	layout := strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(f.format)
	seen := 0
	for f.count == 0 || seen < f.count {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if f.idle > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, f.idle)
		}
		fetches := cl.PollRecords(pollCtx, f.count-seen)
		cancel()
		if pollCtx.Err() != nil && fetches.NumRecords() == 0 {
			// Idle, or Ctrl-C: either way the consumer is done, and a
			// group member leaves its group on the way out.
			return nil
		}
		if err := fetches.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			return err
		}
		recs := fetches.Records()
		for _, r := range recs {
			out.WriteString(formatRecord(layout, r))
			seen++
		}
		if err := printed(recs, out.Flush()); err != nil {
			return err
		}
	}
	return nil
}

// closeConsumer leaves the group, bounded by leaveTimeout, then closes the
// client. Rebalances are allowed first: with BlockRebalanceOnPoll a poll
// that returned without a following AllowRebalance holds the group, and
// the leave would wait on it for ever.
func closeConsumer(cl *kgo.Client, inGroup bool, stderr io.Writer) {
	if inGroup {
		cl.AllowRebalance()
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		if err := cl.LeaveGroupContext(ctx); err != nil {
			fmt.Fprintf(stderr, "rill consume: leaving the group: %v\n", err)
		}
		cancel()
	}
	cl.Close()
}

// isolationLevel parses --isolation.
func isolationLevel(s string) (kgo.IsolationLevel, error) {
	switch s {
	case "read_uncommitted":
		return kgo.ReadUncommitted(), nil
	case "read_committed":
		return kgo.ReadCommitted(), nil
	}
	return kgo.ReadUncommitted(), fmt.Errorf("--isolation %q: want read_uncommitted or read_committed", s)
}

func formatRecord(layout string, r *kgo.Record) string {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		c := layout[i]
		if c != '%' || i+1 == len(layout) {
			b.WriteByte(c)
			continue
		}
		i++
		switch layout[i] {
		case 't':
			b.WriteString(r.Topic)
		case 'p':
			b.WriteString(strconv.Itoa(int(r.Partition)))
		case 'o':
			b.WriteString(strconv.FormatInt(r.Offset, 10))
		case 'k':
			b.Write(r.Key)
		case 'v':
			b.Write(r.Value)
		case 'T':
			b.WriteString(strconv.FormatInt(r.Timestamp.UnixMilli(), 10))
		case 'h':
			for j, h := range r.Headers {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(h.Key + "=" + string(h.Value))
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(layout[i])
		}
	}
	return b.String()
}
