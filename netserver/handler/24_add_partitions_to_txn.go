package handler

// AddPartitionsToTxn (key 24), v0-v5.
//
// A transactional producer names the partitions it is about to write to
// (v0-v3, one transactional id); the coordinator adds them to the ongoing
// transaction (coordinator/txn's AddPartitions), so EndTxn knows where to
// write markers. Partitions of topics that do not exist answer
// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as
// Kafka does; otherwise every partition gets the coordinator's answer.
// v4+ batches several transactional ids (sent by brokers, KIP-890), each
// answered on its own; a VerifyOnly transaction is checked, not changed:
// each partition is fine or TRANSACTION_ABORTABLE. A v5 add (not verify
// only) is a partition leader's add for a transaction version 2 producer.
//
// Authorization, as Kafka's KafkaApis: v4+ comes from brokers and needs
// CLUSTER_ACTION on the cluster, else the request answers
// CLUSTER_AUTHORIZATION_FAILED at the top. Before v4 the client needs
// WRITE on the transactional id, else every partition answers
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, and WRITE on each topic, else
// its partitions answer TOPIC_AUTHORIZATION_FAILED (the internal topics
// always, with an authorizer: clients never write them) and the
// transaction's other partitions OPERATION_NOT_ATTEMPTED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

// txnPartitions is one transaction's partitions as a request lists them.
type txnPartitions struct {
	id         string
	pid        int64
	epoch      int16
	verifyOnly bool
	topics     map[string][]int32
	order      []string
}

func (b *Broker) addPartitionsToTxn(ctx context.Context, req *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	ac := b.access(ctx)
	if req.Version >= 4 && !ac.cluster(authz.OpClusterAction) {
		resp.ErrorCode = errClusterDenied.Code
		return resp
	}
	if req.Version < 4 {
		t := txnPartitions{id: req.TransactionalID, pid: req.ProducerID, epoch: req.ProducerEpoch, topics: map[string][]int32{}}
		for _, rt := range req.Topics {
			if _, ok := t.topics[rt.Topic]; !ok {
				t.order = append(t.order, rt.Topic)
			}
			t.topics[rt.Topic] = append(t.topics[rt.Topic], rt.Partitions...)
		}
		var codes map[kafka.TopicPartition]int16
		if ac.transactionalID(authz.OpWrite, t.id) {
			codes = b.addTxnPartitions(ac, t, req.Version)
		}
		for _, name := range t.order {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = name
			for _, p := range t.topics[name] {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[kafka.TopicPartition{Topic: name, Partition: p}]
				if codes == nil {
					rp.ErrorCode = errTxnIDDenied.Code
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	for _, rtx := range req.Transactions {
		t := txnPartitions{id: rtx.TransactionalID, pid: rtx.ProducerID, epoch: rtx.ProducerEpoch, verifyOnly: rtx.VerifyOnly, topics: map[string][]int32{}}
		for _, rt := range rtx.Topics {
			if _, ok := t.topics[rt.Topic]; !ok {
				t.order = append(t.order, rt.Topic)
			}
			t.topics[rt.Topic] = append(t.topics[rt.Topic], rt.Partitions...)
		}
		codes := b.addTxnPartitions(ac, t, req.Version)
		tx := kmsg.NewAddPartitionsToTxnResponseTransaction()
		tx.TransactionalID = t.id
		for _, name := range t.order {
			rt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			rt.Topic = name
			for _, p := range t.topics[name] {
				rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[kafka.TopicPartition{Topic: name, Partition: p}]
				rt.Partitions = append(rt.Partitions, rp)
			}
			tx.Topics = append(tx.Topics, rt)
		}
		resp.Transactions = append(resp.Transactions, tx)
	}
	return resp
}

// addTxnPartitions answers one transaction's partitions: the error code
// of each. Before v4 (a client's request) each topic needs WRITE.
func (b *Broker) addTxnPartitions(ac access, t txnPartitions, version int16) map[kafka.TopicPartition]int16 {
	codes := map[kafka.TopicPartition]int16{}
	var tps []kafka.TopicPartition
	failed := false // a partition denied or unknown: none is added
	for _, name := range t.order {
		topic, ok := b.topic(name)
		denied := version < 4 && ac.enabled() && (isInternalTopic(name) || !ac.topic(authz.OpWrite, name))
		for _, p := range t.topics[name] {
			tp := kafka.TopicPartition{Topic: name, Partition: p}
			tps = append(tps, tp)
			if denied {
				codes[tp] = errTopicDenied.Code
				failed = true
			} else if !ok || p < 0 || p >= topic.Partitions {
				codes[tp] = kerr.UnknownTopicOrPartition.Code
				failed = true
			}
		}
	}
	setAll := func(e *kerr.Error) {
		for _, tp := range tps {
			if _, set := codes[tp]; !set {
				codes[tp] = errorCodeOf(e)
			}
		}
	}
	if failed {
		setAll(kerr.OperationNotAttempted)
		return codes
	}
	if t.verifyOnly {
		per, err := b.txns.VerifyPartitions(t.id, t.pid, t.epoch, tps)
		if e := txnError(err, version, 2); e != nil {
			setAll(e)
			return codes
		}
		for _, tp := range tps {
			codes[tp] = errorCodeOf(txnError(per[tp], version, 2))
		}
		return codes
	}
	v := txn.TV0
	if version >= 5 {
		v = txn.TV2 // a leader's add for a Produce v12 (KIP-890 part 2)
	}
	a := b.txns.AddPartitions(txn.AddPartitions{TransactionalID: t.id, ProducerID: t.pid, ProducerEpoch: t.epoch, Partitions: tps, Version: v})
	if e := txnError(a.Err, version, 2); e != nil {
		if e == kerr.UnknownServerError {
			b.log.Warn("adding partitions to a transaction failed", "transactional_id", t.id, "err", a.Err)
		}
		setAll(e)
		return codes
	}
	setAll(nil)
	return codes
}

// errorCodeOf is e's code, 0 for nil.
func errorCodeOf(e *kerr.Error) int16 {
	if e == nil {
		return 0
	}
	return e.Code
}
