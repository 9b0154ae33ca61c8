package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newTxnCmd: rill txn list|describe|describe-producers|find-hanging|abort,
// after Kafka's kafka-transactions.sh.
//
//	list                [--state S]... [--producer-id N]... [--duration-ms N]
//	describe            TRANSACTIONAL-ID... (or --transactional-id ID)
//	describe-producers  --topic T --partition P
//	find-hanging        [--topic T [--partition P]] [--max-transaction-timeout-ms N]
//	abort               --topic T --partition P (--start-offset O | --producer-id N --producer-epoch E --coordinator-epoch C)
func newTxnCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "txn", Short: "list, describe, describe-producers, find-hanging or abort transactions (kafka-transactions.sh)"})
	c.AddCommand(
		txnSubCmd("list", "list [--state S]... [--producer-id N]... [--duration-ms N]", "list transactions the brokers coordinate", noArgs),
		txnSubCmd("describe", "describe TRANSACTIONAL-ID...", "describe transactions", cobra.ArbitraryArgs),
		txnSubCmd("describe-producers", "describe-producers --topic T --partition P", "list the producers writing to a partition, with their open transactions", noArgs),
		txnSubCmd("find-hanging", "find-hanging [--topic T [--partition P]] [--max-transaction-timeout-ms N]", "find transactions open longer than the maximum transaction timeout", noArgs),
		txnSubCmd("abort", "abort --topic T --partition P (--start-offset O | --producer-id N --producer-epoch E --coordinator-epoch C)", "abort a hanging transaction by writing its abort marker", noArgs),
	)
	return c
}

func txnSubCmd(sub, use, short string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	var states, pids []string
	fs.StringArrayVar(&states, "state", nil, "list: only transactions in this state (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence; repeatable)")
	fs.StringArrayVar(&pids, "producer-id", nil, "list: only this producer id (repeatable); abort: the producer whose transaction to abort")
	duration := fs.Int64("duration-ms", -1, "list: only transactions open at least this long (-1: all)")
	txnID := fs.String("transactional-id", "", "describe: the transactional id (or name it as an argument)")
	topic := fs.String("topic", "", "describe-producers, abort: the topic; find-hanging: search only this topic")
	partition := fs.Int("partition", -1, "describe-producers, abort: the partition; find-hanging: with --topic, only this partition")
	maxTimeout := fs.Int64("max-transaction-timeout-ms", 15*60*1000, "find-hanging: transactions open longer than this (the brokers' transaction.max.timeout.ms) are candidates")
	startOffset := fs.Int64("start-offset", -1, "abort: the first offset of the open transaction (its producer is looked up with DescribeProducers)")
	epoch := fs.Int("producer-epoch", -1, "abort: the producer's epoch")
	coordEpoch := fs.Int("coordinator-epoch", -1, "abort: the coordinator epoch (negative: 0, the least any coordinator has)")
	var out outputFlag
	if sub == "list" {
		out.register(c)
	}
	scopeFlags(c, sub, map[string]string{
		"state": "list", "producer-id": "list,abort", "duration-ms": "list", "transactional-id": "describe",
		"topic": "describe-producers,find-hanging,abort", "partition": "describe-producers,find-hanging,abort",
		"max-transaction-timeout-ms": "find-hanging", "start-offset": "abort", "producer-epoch": "abort", "coordinator-epoch": "abort",
	})
	c.RunE = func(c *cobra.Command, args []string) error {
		w := c.OutOrStdout()
		cl, err := tf.client()
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(c.Context(), tf.timeout)
		defer cancel()
		adm := kadm.NewClient(cl)
		switch sub {
		case "list":
			var ids []int64
			for _, p := range pids {
				n, err := strconv.ParseInt(p, 10, 64)
				if err != nil {
					return fmt.Errorf("--producer-id %q: %w", p, err)
				}
				ids = append(ids, n)
			}
			return listTxns(ctx, cl, states, ids, *duration, out.json(), w, c.ErrOrStderr())
		case "describe":
			ids := args
			if *txnID != "" {
				ids = append([]string{*txnID}, ids...)
			}
			if len(ids) == 0 {
				return usageErrorf("txn describe: name at least one transactional id")
			}
			return describeTxns(ctx, adm, ids, w)
		case "describe-producers":
			if *topic == "" || *partition < 0 {
				return usageErrorf("txn describe-producers: want --topic and --partition")
			}
			return describeProducers(ctx, adm, *topic, int32(*partition), w)
		case "find-hanging":
			if *partition >= 0 && *topic == "" {
				return usageErrorf("txn find-hanging: --partition needs --topic")
			}
			return findHanging(ctx, adm, *topic, int32(*partition), *maxTimeout, w)
		case "abort":
			if *topic == "" || *partition < 0 {
				return usageErrorf("txn abort: want --topic and --partition")
			}
			m := kadm.TxnMarkers{Commit: false, Topics: kadm.TopicsSet{}}
			m.Topics.Add(*topic, int32(*partition))
			switch {
			case *startOffset >= 0 && len(pids) == 0:
				p, err := producerAt(ctx, adm, *topic, int32(*partition), *startOffset)
				if err != nil {
					return err
				}
				m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch = p.ProducerID, p.ProducerEpoch, p.CoordinatorEpoch
			case *startOffset < 0 && len(pids) == 1 && *epoch >= 0:
				n, err := strconv.ParseInt(pids[0], 10, 64)
				if err != nil {
					return fmt.Errorf("--producer-id %q: %w", pids[0], err)
				}
				m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch = n, int16(*epoch), int32(*coordEpoch)
			default:
				return usageErrorf("txn abort: name the transaction with --start-offset, or with --producer-id, --producer-epoch and --coordinator-epoch")
			}
			// A producer whose transaction hung before any marker was written
			// has coordinator epoch -1; 0 is at most any coordinator's epoch
			// (as kafka-transactions.sh does).
			m.CoordinatorEpoch = max(m.CoordinatorEpoch, 0)
			return abortTxn(ctx, adm, m, *topic, int32(*partition), w)
		}
		panic("txn: no subcommand " + sub) // only the subcommands above are registered
	}
	return c
}

// listTxns lists the transactional ids every broker coordinates
// (ListTransactions to each; v1 for the duration filter, which kadm does
// not expose).
//
// A broker that does not answer is reported on stderr (and in the JSON)
// and the others' transactions are still listed; the run fails only if
// none answered.
func listTxns(ctx context.Context, cl *kgo.Client, states []string, pids []int64, durationMs int64, asJSON bool, w, errw io.Writer) error {
	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters, req.ProducerIDFilters, req.DurationFilterMillis = states, pids, durationMs
	type row struct {
		ID          string `json:"transactional_id"`
		State       string `json:"state"`
		Coordinator int32  `json:"coordinator"`
		PID         int64  `json:"producer_id"`
	}
	rows := []row{}
	unknown := map[string]bool{}
	shards := cl.RequestSharded(ctx, req)
	var failures []string
	for _, sh := range shards {
		err := sh.Err
		if err == nil {
			err = kerr.ErrorForCode(sh.Resp.(*kmsg.ListTransactionsResponse).ErrorCode)
		}
		if err != nil {
			failures = append(failures, fmt.Sprintf("listing the transactions of broker %d: %v", sh.Meta.NodeID, err))
			continue
		}
		resp := sh.Resp.(*kmsg.ListTransactionsResponse)
		for _, s := range resp.UnknownStateFilters {
			unknown[s] = true
		}
		for _, t := range resp.TransactionStates {
			rows = append(rows, row{t.TransactionalID, t.TransactionState, sh.Meta.NodeID, t.ProducerID})
		}
	}
	if len(shards) > 0 && len(failures) == len(shards) {
		return errors.New(strings.Join(failures, "; "))
	}
	for s := range unknown {
		fmt.Fprintf(errw, "rill txn list: the brokers do not know state %q\n", s)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	if asJSON {
		return writeJSON(w, struct {
			Transactions any      `json:"transactions"`
			Errors       []string `json:"errors,omitempty"`
		}{rows, failures})
	}
	for _, f := range failures {
		fmt.Fprintf(errw, "rill: partial answer: %s\n", f)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRANSACTIONAL-ID\tCOORDINATOR\tPRODUCER-ID\tSTATE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", r.ID, r.Coordinator, r.PID, r.State)
	}
	return tw.Flush()
}

// describeTxns: DescribeTransactions at each id's coordinator (kgo finds
// it with FindCoordinator, key type 1).
func describeTxns(ctx context.Context, adm *kadm.Client, ids []string, w io.Writer) error {
	described, err := adm.DescribeTransactions(ctx, ids...)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COORDINATOR\tTRANSACTIONAL-ID\tPRODUCER-ID\tPRODUCER-EPOCH\tSTATE\tTIMEOUT-MS\tSTART-TIME-MS\tDURATION-MS\tPARTITIONS")
	for _, id := range ids {
		d, ok := described[id]
		if !ok {
			return fmt.Errorf("describe %s: no answer from its coordinator", id)
		}
		if d.Err != nil {
			return fmt.Errorf("describe %s: %w", id, d.Err)
		}
		start, dur := "-", "-"
		if d.StartTimestamp >= 0 {
			start, dur = strconv.FormatInt(d.StartTimestamp, 10), strconv.FormatInt(now-d.StartTimestamp, 10)
		}
		var parts []string
		for _, tp := range d.Topics.Sorted() {
			for _, p := range tp.Partitions {
				parts = append(parts, fmt.Sprintf("%s-%d", tp.Topic, p))
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\n", d.Coordinator, id, d.ProducerID, d.ProducerEpoch, d.State,
			d.TimeoutMillis, start, dur, strings.Join(parts, ","))
	}
	return tw.Flush()
}

// partitionProducers: DescribeProducers at the partition's leader.
func partitionProducers(ctx context.Context, adm *kadm.Client, topic string, partition int32) ([]kadm.DescribedProducer, error) {
	set := kadm.TopicsSet{}
	set.Add(topic, partition)
	described, err := adm.DescribeProducers(ctx, set)
	if err != nil {
		return nil, fmt.Errorf("describing the producers of %s-%d: %w", topic, partition, err)
	}
	dp, ok := described[topic].Partitions[partition]
	if !ok {
		return nil, fmt.Errorf("describing the producers of %s-%d: no answer from its leader", topic, partition)
	}
	if dp.Err != nil {
		return nil, fmt.Errorf("describing the producers of %s-%d: %w", topic, partition, dp.Err)
	}
	return dp.ActiveProducers.Sorted(), nil
}

func describeProducers(ctx context.Context, adm *kadm.Client, topic string, partition int32, w io.Writer) error {
	ps, err := partitionProducers(ctx, adm, topic, partition)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCER-ID\tPRODUCER-EPOCH\tCOORDINATOR-EPOCH\tLAST-SEQUENCE\tLAST-TIMESTAMP\tCURRENT-TXN-START-OFFSET")
	for _, p := range ps {
		start := "-"
		if p.CurrentTxnStartOffset >= 0 {
			start = strconv.FormatInt(p.CurrentTxnStartOffset, 10)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\n", p.ProducerID, p.ProducerEpoch, p.CoordinatorEpoch, p.LastSequence, p.LastTimestamp, start)
	}
	return tw.Flush()
}

// producerAt is the producer whose open transaction on the partition
// starts at offset.
func producerAt(ctx context.Context, adm *kadm.Client, topic string, partition int32, offset int64) (kadm.DescribedProducer, error) {
	ps, err := partitionProducers(ctx, adm, topic, partition)
	if err != nil {
		return kadm.DescribedProducer{}, err
	}
	for _, p := range ps {
		if p.CurrentTxnStartOffset == offset {
			return p, nil
		}
	}
	return kadm.DescribedProducer{}, fmt.Errorf("no open transaction starts at offset %d of %s-%d", offset, topic, partition)
}

// findHanging prints the open transactions (DescribeProducers: a current
// transaction start offset) whose producer last wrote more than
// maxTimeoutMs ago and whose coordinator will not end them: no
// transactional id has that producer id (ListTransactions), or the id's
// transaction (DescribeTransactions) does not include the partition. A
// coordinator aborts its own transactions at their timeout, at most
// transaction.max.timeout.ms, so these are the ones nothing will close.
// This is kafka-transactions.sh find-hanging.
func findHanging(ctx context.Context, adm *kadm.Client, topic string, partition int32, maxTimeoutMs int64, w io.Writer) error {
	set := kadm.TopicsSet{}
	if topic != "" {
		if partition >= 0 {
			set.Add(topic, partition)
		} else {
			set.Add(topic) // every partition (kadm fills them in)
		}
	}
	described, err := adm.DescribeProducers(ctx, set)
	if err != nil {
		return fmt.Errorf("describing producers: %w", err)
	}
	now := time.Now().UnixMilli()
	var candidates []kadm.DescribedProducer
	var pids []int64
	seen := map[int64]bool{}
	for _, dp := range described.SortedPartitions() {
		if dp.Err != nil {
			return fmt.Errorf("describing the producers of %s-%d: %w", dp.Topic, dp.Partition, dp.Err)
		}
		for _, p := range dp.ActiveProducers.Sorted() {
			if p.CurrentTxnStartOffset < 0 || now-p.LastTimestamp <= maxTimeoutMs {
				continue
			}
			candidates = append(candidates, p)
			if !seen[p.ProducerID] {
				seen[p.ProducerID] = true
				pids = append(pids, p.ProducerID)
			}
		}
	}
	txnOf := map[int64]string{}
	var txns kadm.DescribedTransactions
	if len(pids) > 0 {
		listed, err := adm.ListTransactions(ctx, pids, nil)
		if err != nil {
			return fmt.Errorf("listing the candidates' transactions: %w", err)
		}
		var ids []string
		for _, l := range listed.Sorted() {
			txnOf[l.ProducerID] = l.TxnID
			ids = append(ids, l.TxnID)
		}
		if len(ids) > 0 {
			if txns, err = adm.DescribeTransactions(ctx, ids...); err != nil {
				return fmt.Errorf("describing the candidates' transactions: %w", err)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tPRODUCER-ID\tPRODUCER-EPOCH\tCOORDINATOR-EPOCH\tSTART-OFFSET\tLAST-TIMESTAMP\tDURATION-MS")
	for _, p := range candidates {
		if id, ok := txnOf[p.ProducerID]; ok {
			d, ok := txns[id]
			if ok && d.Err != nil && !errors.Is(d.Err, kerr.TransactionalIDNotFound) {
				return fmt.Errorf("describing transaction %s: %w", id, d.Err)
			}
			if ok && d.Err == nil && d.ProducerID == p.ProducerID && d.Topics.Lookup(p.Topic, p.Partition) {
				continue // its coordinator still ends it
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", p.Topic, p.Partition, p.ProducerID, p.ProducerEpoch, p.CoordinatorEpoch,
			p.CurrentTxnStartOffset, p.LastTimestamp, now-p.LastTimestamp)
	}
	return tw.Flush()
}

// abortTxn writes an ABORT marker for the producer to the partition: the
// WriteTxnMarkers request a coordinator sends, sent by kgo to the
// partition's leader, as kafka-transactions.sh abort does.
func abortTxn(ctx context.Context, adm *kadm.Client, m kadm.TxnMarkers, topic string, partition int32, w io.Writer) error {
	res, err := adm.WriteTxnMarkers(ctx, m)
	if err != nil {
		return fmt.Errorf("writing the abort marker: %w", err)
	}
	r, ok := res[m.ProducerID].Topics[topic].Partitions[partition]
	if !ok {
		return fmt.Errorf("writing the abort marker: no answer for %s-%d", topic, partition)
	}
	if r.Err != nil {
		return fmt.Errorf("writing the abort marker to %s-%d: %w", topic, partition, r.Err)
	}
	fmt.Fprintf(w, "aborted the transaction of producer %d (epoch %d, coordinator epoch %d) on %s-%d\n",
		m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch, topic, partition)
	return nil
}
