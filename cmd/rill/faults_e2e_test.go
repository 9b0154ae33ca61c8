package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// At the file-descriptor limit, creating a topic with more partitions than
// descriptors are left fails as a whole: the client gets
// KAFKA_STORAGE_ERROR with the reason, the broker logs the partition that
// failed, no partly created topic remains, and the broker goes on serving
// (the partitions it had opened are closed again).
func TestTopicCreationAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	// Each partition holds one descriptor (its log; empty indexes hold
	// none) without log.open.files.max.
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, rillBin, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	b := startBrokerCmd(t, cmd)
	adm := kadm.NewClient(client(t, b.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	resp, err := adm.CreateTopic(ctx, 400, 1, nil, "too-many")
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("creating 400 partitions under a 256 descriptor limit: %v (want KAFKA_STORAGE_ERROR)\n%s", err, b.log())
	}
	if !strings.Contains(resp.ErrMessage, "too many open files") {
		t.Errorf("error message %q does not give the reason", resp.ErrMessage)
	}
	if !strings.Contains(b.log(), `msg="creating a partition of a new topic failed, deleting the topic" component=handler topic=too-many`) {
		t.Errorf("no log line for the failed creation:\n%s", b.log())
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("too-many") {
		t.Fatalf("a partly created topic remains: %v", topics["too-many"].Partitions.Numbers())
	}

	// The descriptors came back: a smaller topic is created and used.
	if resp, err := adm.CreateTopic(ctx, 20, 1, nil, "fits"); err != nil || resp.Err != nil {
		t.Fatalf("creating a 20-partition topic after the failure: %v %v\n%s", err, resp.Err, b.log())
	}
	cl := client(t, b.addr, kgo.DefaultProduceTopic("fits"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range 40 {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v\n%s", i, err, b.log())
		}
	}
	// The name is free: the failed topic can be created once it fits.
	if resp, err := adm.CreateTopic(ctx, 10, 1, nil, "too-many"); err != nil || resp.Err != nil {
		t.Fatalf("re-creating the failed topic's name: %v %v", err, resp.Err)
	}
}
