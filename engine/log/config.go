package log

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
)

// Config is a partition log's configuration, with Kafka's topic-level
// names in the comments. Durations are milliseconds.
type Config struct {
	SegmentBytes       int64 // segment.bytes
	SegmentMs          int64 // segment.ms
	IndexIntervalBytes int   // index.interval.bytes
	SegmentIndexBytes  int   // segment.index.bytes
	RetentionMs        int64 // retention.ms, -1 = unlimited
	RetentionBytes     int64 // retention.bytes, -1 = unlimited
	CleanupDelete      bool  // cleanup.policy contains delete
	CleanupCompact     bool  // cleanup.policy contains compact
	DeleteRetentionMs  int64 // delete.retention.ms (tombstone lifetime)
	MinCompactionLagMs int64 // min.compaction.lag.ms
	FlushMessages      int64 // flush.messages: 1 = fsync before acknowledging
	FlushMs            int64 // flush.ms
	FileDeleteDelayMs  int64 // file.delete.delay.ms
	MaxMessageBytes    int   // max.message.bytes
	LogAppendTime      bool  // message.timestamp.type=LogAppendTime
	// CompressionType is compression.type: "producer" keeps each batch's
	// codec; "uncompressed", "gzip", "snappy", "lz4" or "zstd" make a
	// partition leader recompress batches in another codec (Compression).
	CompressionType string
	GzipLevel       int // compression.gzip.level
	LZ4Level        int // compression.lz4.level
	ZstdLevel       int // compression.zstd.level
	// MinInsyncReplicas is min.insync.replicas: the log does not use it;
	// a cluster's partition leader refuses acks=all appends while its ISR
	// is smaller (replication/replica).
	MinInsyncReplicas int
	// UncleanLeaderElection is unclean.leader.election.enable: the log
	// does not use it; a cluster's controller may then elect a replica
	// outside the ISR when the whole ISR is dead (replication/controller).
	UncleanLeaderElection bool
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       1 << 30,
		SegmentMs:          7 * 24 * 3600 * 1000,
		IndexIntervalBytes: 4096,
		SegmentIndexBytes:  10 << 20,
		RetentionMs:        7 * 24 * 3600 * 1000,
		RetentionBytes:     -1,
		CleanupDelete:      true,
		DeleteRetentionMs:  24 * 3600 * 1000,
		FlushMessages:      math.MaxInt64,
		FlushMs:            math.MaxInt64,
		FileDeleteDelayMs:  60000,
		MaxMessageBytes:    1048588,
		MinInsyncReplicas:  1,
		CompressionType:    "producer",
		GzipLevel:          format.GzipDefaultLevel,
		LZ4Level:           format.LZ4DefaultLevel,
		ZstdLevel:          format.ZstdDefaultLevel,
	}
}

// compressionCodecs maps compression.type values to codecs.
var compressionCodecs = map[string]format.Codec{
	"uncompressed": format.CodecNone, "gzip": format.CodecGzip, "snappy": format.CodecSnappy,
	"lz4": format.CodecLZ4, "zstd": format.CodecZstd,
}

// Compression is the codec and level a partition leader writes produced
// batches in; ok is false for compression.type=producer, which keeps the
// producer's codec.
func (c Config) Compression() (codec format.Codec, level int, ok bool) {
	codec, ok = compressionCodecs[c.CompressionType]
	switch codec {
	case format.CodecGzip:
		level = c.GzipLevel
	case format.CodecLZ4:
		level = c.LZ4Level
	case format.CodecZstd:
		level = c.ZstdLevel
	}
	return codec, level, ok
}

func (c Config) segmentConfig() segment.Config {
	return segment.Config{IndexIntervalBytes: c.IndexIntervalBytes, MaxIndexBytes: c.SegmentIndexBytes,
		ContiguousOffsets: !c.CleanupCompact}
}

// SyncOnAck reports the fsync-before-acknowledge mode (flush.messages=1).
func (c Config) SyncOnAck() bool { return c.FlushMessages == 1 }

// CleanupPolicy renders cleanup.policy.
func (c Config) CleanupPolicy() string {
	switch {
	case c.CleanupDelete && c.CleanupCompact:
		return "compact,delete"
	case c.CleanupCompact:
		return "compact"
	default:
		return "delete"
	}
}

// Set applies one topic-level config by its Kafka name. Errors name the
// config and the reason, for the client's error message (INVALID_CONFIG):
// "retention.ms: \"abc\" is not a number of type LONG"; an unknown name
// is Kafka's "Unknown topic config name: x".
func (c *Config) Set(name, value string) error {
	i64 := func(dst *int64, minimum int64) error {
		v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number of type LONG", name, value)
		}
		if v < minimum {
			return fmt.Errorf("%s: %d is below the minimum %d", name, v, minimum)
		}
		*dst = v
		return nil
	}
	i32 := func(dst *int, minimum int64) error {
		v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 32)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number of type INT", name, value)
		}
		if v < minimum {
			return fmt.Errorf("%s: %d is below the minimum %d", name, v, minimum)
		}
		*dst = int(v)
		return nil
	}
	level := func(dst *int, codec format.Codec) error {
		var v int
		if err := i32(&v, math.MinInt32); err != nil {
			return err
		}
		if err := format.CheckLevel(codec, v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*dst = v
		return nil
	}
	switch name {
	case "segment.bytes":
		var v int
		if err := i32(&v, 14); err != nil {
			return err
		}
		c.SegmentBytes = int64(v)
		return nil
	case "segment.ms":
		return i64(&c.SegmentMs, 1)
	case "index.interval.bytes":
		return i32(&c.IndexIntervalBytes, 0)
	case "segment.index.bytes":
		return i32(&c.SegmentIndexBytes, 4)
	case "retention.ms":
		return i64(&c.RetentionMs, -1)
	case "retention.bytes":
		return i64(&c.RetentionBytes, -1)
	case "delete.retention.ms":
		return i64(&c.DeleteRetentionMs, 0)
	case "min.compaction.lag.ms":
		return i64(&c.MinCompactionLagMs, 0)
	case "flush.messages":
		return i64(&c.FlushMessages, 1)
	case "flush.ms":
		return i64(&c.FlushMs, 0)
	case "file.delete.delay.ms":
		return i64(&c.FileDeleteDelayMs, 0)
	case "max.message.bytes":
		return i32(&c.MaxMessageBytes, 0)
	case "min.insync.replicas":
		return i32(&c.MinInsyncReplicas, 1)
	case "unclean.leader.election.enable":
		switch strings.TrimSpace(value) {
		case "true":
			c.UncleanLeaderElection = true
		case "false":
			c.UncleanLeaderElection = false
		default:
			return fmt.Errorf("%s: %q is not a boolean: want true or false", name, value)
		}
		return nil
	case "cleanup.policy":
		c.CleanupDelete, c.CleanupCompact = false, false
		for _, p := range strings.Split(value, ",") {
			switch strings.TrimSpace(p) {
			case "delete":
				c.CleanupDelete = true
			case "compact":
				c.CleanupCompact = true
			default:
				return fmt.Errorf("cleanup.policy: %q is not a list of delete and compact", value)
			}
		}
		return nil
	case "compression.type":
		value = strings.ToLower(strings.TrimSpace(value)) // Kafka's validator ignores case
		if _, ok := compressionCodecs[value]; !ok && value != "producer" {
			return fmt.Errorf("compression.type: %q is not one of uncompressed, zstd, lz4, snappy, gzip, producer", value)
		}
		c.CompressionType = value
		return nil
	case "compression.gzip.level":
		return level(&c.GzipLevel, format.CodecGzip)
	case "compression.lz4.level":
		return level(&c.LZ4Level, format.CodecLZ4)
	case "compression.zstd.level":
		return level(&c.ZstdLevel, format.CodecZstd)
	case "message.timestamp.type":
		switch value {
		case "CreateTime":
			c.LogAppendTime = false
		case "LogAppendTime":
			c.LogAppendTime = true
		default:
			return fmt.Errorf("message.timestamp.type: %q is not CreateTime or LogAppendTime", value)
		}
		return nil
	}
	return fmt.Errorf("Unknown topic config name: %s", name)
}

// Get renders one config by its Kafka name; ok is false for unknown names.
func (c Config) Get(name string) (string, bool) {
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	switch name {
	case "segment.bytes":
		return itoa(c.SegmentBytes), true
	case "segment.ms":
		return itoa(c.SegmentMs), true
	case "index.interval.bytes":
		return itoa(int64(c.IndexIntervalBytes)), true
	case "segment.index.bytes":
		return itoa(int64(c.SegmentIndexBytes)), true
	case "retention.ms":
		return itoa(c.RetentionMs), true
	case "retention.bytes":
		return itoa(c.RetentionBytes), true
	case "delete.retention.ms":
		return itoa(c.DeleteRetentionMs), true
	case "min.compaction.lag.ms":
		return itoa(c.MinCompactionLagMs), true
	case "flush.messages":
		return itoa(c.FlushMessages), true
	case "flush.ms":
		return itoa(c.FlushMs), true
	case "file.delete.delay.ms":
		return itoa(c.FileDeleteDelayMs), true
	case "max.message.bytes":
		return itoa(int64(c.MaxMessageBytes)), true
	case "min.insync.replicas":
		return itoa(int64(c.MinInsyncReplicas)), true
	case "unclean.leader.election.enable":
		return strconv.FormatBool(c.UncleanLeaderElection), true
	case "cleanup.policy":
		return c.CleanupPolicy(), true
	case "compression.type":
		return c.CompressionType, true
	case "compression.gzip.level":
		return itoa(int64(c.GzipLevel)), true
	case "compression.lz4.level":
		return itoa(int64(c.LZ4Level)), true
	case "compression.zstd.level":
		return itoa(int64(c.ZstdLevel)), true
	case "message.timestamp.type":
		if c.LogAppendTime {
			return "LogAppendTime", true
		}
		return "CreateTime", true
	}
	return "", false
}

// ConfigNames lists the names Set and Get accept.
var ConfigNames = []string{
	"cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type", "compression.zstd.level", "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
	"index.interval.bytes", "max.message.bytes", "message.timestamp.type", "min.compaction.lag.ms", "min.insync.replicas",
	"retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes", "segment.ms",
	"unclean.leader.election.enable",
}
