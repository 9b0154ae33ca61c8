package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDockerImage builds the Dockerfile at the repository root, starts the
// image on the host network (so its listener stays on 127.0.0.1) with
// KAFKA_-style settings, waits for the image's own health check on
// /health/ready to pass, produces and consumes through it and stops it
// cleanly. It needs a Docker engine: without one (`docker info` fails) it
// skips with a message.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine here (docker info: %v): the image is not built", firstLine(string(out)))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const image = "rill:e2e-test"
	if out, err := exec.CommandContext(ctx, "docker", "build", "-t", image, root).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	kafkaAddr, adminAddr := freePort(t), freePort(t)
	name := "rill-e2e-" + strings.ReplaceAll(kafkaAddr, ":", "-")
	run := exec.CommandContext(ctx, "docker", "run", "-d", "--rm", "--name", name, "--network", "host",
		"-e", "KAFKA_LISTENERS=PLAINTEXT://"+kafkaAddr,
		"-e", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://"+kafkaAddr,
		"-e", "KAFKA_ADMIN_LISTENERS="+adminAddr,
		"-e", "KAFKA_NUM_PARTITIONS=3",
		image)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	// The image's HEALTHCHECK probes /health/ready every 5 s.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, _ := exec.Command("docker", "inspect", "--format", "{{.State.Health.Status}}", name).Output()
		status := strings.TrimSpace(string(out))
		if status == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
			t.Fatalf("container health %q after 2 minutes:\n%s", status, logs)
		}
		time.Sleep(time.Second)
	}
	cl := client(t, kafkaAddr, kgo.AllowAutoTopicCreation())
	const n = 100
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "docker", Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if got := consumeAll(t, kafkaAddr, "docker", n); len(got) != n {
		t.Fatalf("consumed %d records, want %d", len(got), n)
	}
	if out, err := exec.Command("docker", "stop", "-t", "60", name).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, out)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
