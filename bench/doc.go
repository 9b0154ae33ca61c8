// Package bench is Rill's benchmark harness, the engine behind `rill bench`
// and `make bench-compare`: workloads in the spirit of Kafka's
// producer/consumer perf tools and the OpenMessaging Benchmark, run with a
// real Kafka client (franz-go's kgo) against any Kafka-compatible broker.
//
// Workloads (each bounded by a record count):
//
//   - Produce: Producers clients write Records records of RecordSize bytes
//     over Partitions partitions with the given acks, idempotence,
//     compression, linger and batch size, optionally paced to Rate
//     records/s. Latency is send-to-acknowledgement.
//   - Consume: one client reads Records records from the start of the topic
//     (catch-up from disk or page cache).
//   - EndToEnd: a producer paced to Rate and a consumer tailing the topic;
//     latency is send-to-receive, from the send time carried in each
//     record's first 8 bytes.
//
// Load (`rill bench load`, load.go) measures the broker rather than the
// client: prebuilt record batches sent over raw pipelined connections, and
// fetches counted from batch headers without decoding records, each run
// bounded by a duration, with the broker's CPU seconds per GB read from
// /proc/PID/stat.
//
// Every run prints a progress line each second, and returns a Result with
// totals, latency percentiles from an HDR histogram (1 µs to 60 s, 3
// significant digits) and a per-second timeline, which WriteJSON and
// WriteChart (a PNG of throughput and p99 latency over time) save.
//
// Limits measures the machine's ceilings the same way every time: sequential
// disk writes with and without fdatasync, and loopback TCP.
package bench
