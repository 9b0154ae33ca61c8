package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
)

// Checkpoint files, in Kafka's text format:
//
//	0                 version
//	2                 number of entries
//	orders 0 1234     topic partition offset
//	orders 1 987
const (
	recoveryPointFile  = "recovery-point-offset-checkpoint"
	logStartOffsetFile = "log-start-offset-checkpoint"
	cleanShutdownFile  = ".rill_cleanshutdown"
	// highWatermarkFile is a cluster broker's partitions' high watermarks
	// (Kafka's name).
	highWatermarkFile = "replication-offset-checkpoint"
)

// WriteHighWatermarks replaces the high watermark checkpoint (atomically:
// temp file, fsync, rename, directory sync).
func (e *Engine) WriteHighWatermarks(hws map[kafka.TopicPartition]int64) error {
	return writeCheckpoint(e.fs, e.cfg.DataDir, highWatermarkFile, hws)
}

// ReadHighWatermarks returns the last high watermark checkpoint (empty when
// there is none).
func (e *Engine) ReadHighWatermarks() (map[kafka.TopicPartition]int64, error) {
	hws, err := readCheckpoint(e.fs, e.cfg.DataDir, highWatermarkFile)
	if hws == nil {
		hws = map[kafka.TopicPartition]int64{}
	}
	return hws, err
}

func writeCheckpoint(fs vfs.FS, dir, name string, offsets map[kafka.TopicPartition]int64) error {
	tps := make([]kafka.TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "0\n%d\n", len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, offsets[tp])
	}
	return vfs.WriteFileAtomic(fs, dir, dir+"/"+name, b.Bytes())
}

// readCheckpoint returns nil (not an error) when the file is missing; a
// malformed file is an error, since guessing offsets could skip recovery.
func readCheckpoint(fs vfs.FS, dir, name string) (map[kafka.TopicPartition]int64, error) {
	data, err := vfs.ReadFile(fs, dir+"/"+name)
	if err != nil {
		if !vfs.Exists(fs, dir+"/"+name) {
			return nil, nil
		}
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("engine: checkpoint %s: bad header", name)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("engine: checkpoint %s: expected %s entries, found %d", name, lines[1], len(lines)-2)
	}
	out := make(map[kafka.TopicPartition]int64, n)
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("engine: checkpoint %s: bad line %q", name, line)
		}
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		o, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("engine: checkpoint %s: bad line %q", name, line)
		}
		out[kafka.TopicPartition{Topic: f[0], Partition: int32(p)}] = o
	}
	return out, nil
}
