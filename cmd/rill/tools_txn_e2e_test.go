package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// openTxn begins a transaction of id on a fresh transactional client and
// produces value into it, leaving it open.
func openTxn(t *testing.T, addr, id, topic, value string) *kgo.Client {
	t.Helper()
	cl := client(t, addr, kgo.TransactionalID(id), kgo.TransactionTimeout(5*time.Minute), kgo.DefaultProduceTopic(topic))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(), kgo.StringRecord(value)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return cl
}

// The txn tools, transactional produce, read_committed consume and lag
// against the last stable offset, against a real broker.
//
// Hanging transactions are made the way a coordinator that lost its
// state leaves them: two transactions are left open, the broker is
// killed, its __transaction_state partitions are deleted, and it is
// started again. The partition's log still has both transactions open,
// and no coordinator knows them. (A raw transactional Produce with an
// unknown producer id no longer opens one: the leader verifies the first
// batch of a transaction with the coordinator, KIP-890 part 1.)
func TestTxnTools(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	bs := "--bootstrap=" + b.addr
	rill(t, "", "topic", "create", bs, "--partitions", "1", "txns")
	want := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}

	// Offsets 0-2 and the COMMIT marker at 3; 4-5 and the ABORT marker
	// at 6; lost-id's record at 7 and lost2-id's at 8, both open.
	rill(t, "c0\nc1\nc2\n", "produce", bs, "--topic", "txns", "--transactional-id", "committed-id")
	rill(t, "a0\na1\n", "produce", bs, "--topic", "txns", "--transactional-id", "aborted-id", "--abort")
	openTxn(t, b.addr, "lost-id", "txns", "h0")
	openTxn(t, b.addr, "lost2-id", "txns", "h1")

	list := rill(t, "", "txn", "list", bs)
	for _, re := range []string{`committed-id\s+\d+\s+\d+\s+CompleteCommit`, `aborted-id\s+\d+\s+\d+\s+CompleteAbort`, `lost-id\s+\d+\s+\d+\s+Ongoing`} {
		if !regexp.MustCompile(re).MatchString(list) {
			t.Fatalf("txn list: no %s in\n%s", re, list)
		}
	}
	var listed struct {
		Transactions []struct {
			ID    string `json:"transactional_id"`
			State string `json:"state"`
		} `json:"transactions"`
	}
	rillJSON(t, &listed, "txn", "list", bs)
	txnStates := map[string]string{}
	for _, tx := range listed.Transactions {
		txnStates[tx.ID] = tx.State
	}
	if txnStates["committed-id"] != "CompleteCommit" || txnStates["lost-id"] != "Ongoing" {
		t.Fatalf("txn list --format json: %+v", listed)
	}
	if out := rill(t, "", "txn", "list", bs, "--state", "Ongoing"); strings.Contains(out, "committed-id") || !strings.Contains(out, "lost-id") {
		t.Fatalf("txn list --state Ongoing:\n%s", out)
	}
	if out := rill(t, "", "txn", "list", bs, "--duration-ms", "3600000"); strings.Contains(out, "lost-id") {
		t.Fatalf("txn list --duration-ms 3600000 lists a transaction a few seconds old:\n%s", out)
	}
	desc := rill(t, "", "txn", "describe", bs, "lost-id", "committed-id")
	if !regexp.MustCompile(`lost-id\s+(\d+)\s+0\s+Ongoing\s+300000\s+\d+\s+\d+\s+txns-0\n`).MatchString(desc) ||
		!regexp.MustCompile(`committed-id\s+\d+\s+\d+\s+CompleteCommit\s+60000\s+\S+\s+\S+\s*\n`).MatchString(desc) {
		t.Fatalf("txn describe:\n%s", desc)
	}
	lostPID := regexp.MustCompile(`lost-id\s+(\d+)`).FindStringSubmatch(desc)[1]
	producers := rill(t, "", "txn", "describe-producers", bs, "--topic", "txns", "--partition", "0")
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^%s\s+0\s+-1\s+0\s+\d+\s+7$`, lostPID)).MatchString(producers) {
		t.Fatalf("txn describe-producers:\n%s", producers)
	}
	lost2PID := regexp.MustCompile(`(?m)^(\d+)\s+0\s+-1\s+0\s+\d+\s+8$`).FindStringSubmatch(producers)
	if lost2PID == nil {
		t.Fatalf("txn describe-producers: no transaction open at 8:\n%s", producers)
	}

	// The coordinator loses its state.
	b.kill()
	states, err := filepath.Glob(filepath.Join(dir, "__transaction_state-*"))
	if err != nil || len(states) == 0 {
		t.Fatalf("no __transaction_state partitions in %s (%v)", dir, err)
	}
	for _, d := range states {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
	b = startBroker(t, dir)
	bs = "--bootstrap=" + b.addr
	consume := func(isolation string, extra ...string) []string {
		t.Helper()
		out := rill(t, "", append([]string{"consume", bs, "--topic", "txns", "--isolation", isolation, "--idle", "2s"}, extra...)...)
		return strings.Fields(out)
	}
	// A plain record at 9 and open-id's, open, at 10.
	rill(t, "n0\n", "produce", bs, "--topic", "txns")
	open := openTxn(t, b.addr, "open-id", "txns", "o0")
	ctx := context.Background()

	want("read_uncommitted", consume("read_uncommitted", "--count", "9"), "c0", "c1", "c2", "a0", "a1", "h0", "h1", "n0", "o0")
	// The hanging transactions hold the last stable offset at 7.
	want("read_committed before the aborts", consume("read_committed"), "c0", "c1", "c2")

	// Lag of a read_committed group: up to the last stable offset (7),
	// not the high watermark (11).
	if got := consume("read_committed", "--group", "rc", "--idle", "20s", "--count", "3"); len(got) != 3 {
		t.Fatalf("group consume: %v", got)
	}
	if out := rill(t, "", "group", "describe", bs, "--isolation", "read_committed", "rc"); !regexp.MustCompile(`LAST-STABLE-OFFSET[^\n]*\ntxns\s+0\s+3\s+7\s+4\s`).MatchString(out) {
		t.Fatalf("group describe --isolation read_committed:\n%s", out)
	}
	if out := rill(t, "", "group", "describe", bs, "rc"); !regexp.MustCompile(`LOG-END-OFFSET[^\n]*\ntxns\s+0\s+3\s+11\s+8\s`).MatchString(out) {
		t.Fatalf("group describe:\n%s", out)
	}

	// find-hanging: the two lost ones, not open-id's (its coordinator
	// lists it Ongoing with txns-0), even when every open transaction is
	// past the timeout.
	rows := func(out string) int { return strings.Count(strings.TrimSpace(out), "\n") }
	hang1 := regexp.MustCompile(fmt.Sprintf(`txns\s+0\s+%s\s+0\s+-1\s+7\s+\d+\s+\d+`, lostPID))
	hang2 := regexp.MustCompile(fmt.Sprintf(`txns\s+0\s+%s\s+0\s+-1\s+8\s+\d+\s+\d+`, lost2PID[1]))
	time.Sleep(10 * time.Millisecond)
	if out := rill(t, "", "txn", "find-hanging", bs, "--max-transaction-timeout-ms", "0"); !hang1.MatchString(out) || !hang2.MatchString(out) || rows(out) != 2 {
		t.Fatalf("find-hanging --max-transaction-timeout-ms 0:\n%s", out)
	}
	if out := rill(t, "", "txn", "find-hanging", bs, "--topic", "txns", "--partition", "0", "--max-transaction-timeout-ms", "0"); rows(out) != 2 {
		t.Fatalf("find-hanging --topic txns --partition 0:\n%s", out)
	}
	if out := rill(t, "", "txn", "find-hanging", bs); rows(out) != 0 {
		t.Fatalf("find-hanging with the default 15 min timeout:\n%s", out)
	}

	// Abort the first by its start offset: read_committed then stops at
	// the second.
	if out := rill(t, "", "txn", "abort", bs, "--topic", "txns", "--partition", "0", "--start-offset", "7"); !strings.Contains(out, "aborted the transaction of producer "+lostPID) {
		t.Fatalf("txn abort: %s", out)
	}
	want("read_committed after the first abort", consume("read_committed"), "c0", "c1", "c2")
	if out := rill(t, "", "txn", "find-hanging", bs, "--max-transaction-timeout-ms", "0"); !hang2.MatchString(out) || rows(out) != 1 {
		t.Fatalf("find-hanging after the first abort:\n%s", out)
	}
	// The second by producer id and epoch (a coordinator epoch of -1, as
	// describe-producers shows for a producer no marker has closed, is
	// sent as 0): read_committed reads past both, up to open-id's.
	rill(t, "", "txn", "abort", bs, "--topic", "txns", "--partition", "0", "--producer-id", lost2PID[1], "--producer-epoch", "0", "--coordinator-epoch", "-1")
	want("read_committed after the second abort", consume("read_committed"), "c0", "c1", "c2", "n0")
	if out := rill(t, "", "txn", "find-hanging", bs, "--max-transaction-timeout-ms", "0"); rows(out) != 0 {
		t.Fatalf("find-hanging after the aborts:\n%s", out)
	}
	if err := open.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	want("read_committed after open-id commits", consume("read_committed"), "c0", "c1", "c2", "n0", "o0")
	b.stop()
}

// rill bench produce --transactional against a real broker: every record
// acknowledged and committed, in the transactions asked for.
func TestTxnBench(t *testing.T) {
	b := startBroker(t, t.TempDir())
	bs := "--bootstrap=" + b.addr
	out := rill(t, "", "bench", "produce", bs, "--topic", "tb", "--records", "3000", "--record-size", "100", "--transactional", "--txn-records", "500", "--txn-ms", "0")
	if !strings.Contains(out, "produce: 3000 records") || !strings.Contains(out, "; 6 transactions") {
		t.Fatalf("bench produce --transactional: %s", out)
	}
	if got := rill(t, "", "consume", bs, "--topic", "tb", "--isolation", "read_committed", "--count", "3000", "--format", `.`); len(got) != 3000 {
		t.Fatalf("read_committed read %d of 3000 records", len(got))
	}
	b.stop()
}
