package log

// ConfigDoc describes a topic-level config for DescribeConfigs.
type ConfigDoc struct {
	// Type is Kafka's ConfigType: 1 boolean, 2 string, 3 int, 5 long, 7 list.
	Type int8
	Doc  string
}

// ConfigDocs documents every name in ConfigNames, in Kafka's words where
// the behaviour is Kafka's.
var ConfigDocs = map[string]ConfigDoc{
	"cleanup.policy":                 {7, "\"delete\" discards old segments by retention time or size; \"compact\" keeps the latest value per key; both may be given."},
	"compression.gzip.level":         {3, "The gzip level when compression.type is gzip: 1..9, or -1 for the library's default."},
	"compression.lz4.level":          {3, "The lz4 level when compression.type is lz4: 1..17 (1 is LZ4's fast compressor; Rill's encoder compresses levels above 9 at 9)."},
	"compression.type":               {2, "The codec the partition leader stores batches in: producer keeps each producer's codec (batches are written as sent); uncompressed, gzip, snappy, lz4 or zstd recompress batches in another codec before they are written. Control batches are never recompressed."},
	"compression.zstd.level":         {3, "The zstd level when compression.type is zstd: -131072..22 (Rill's encoder has four speeds: below 3, 3..5, 6..9 and 10 up)."},
	"delete.retention.ms":            {5, "How long tombstones (null values) of a compacted topic are kept, so consumers can see them."},
	"file.delete.delay.ms":           {5, "How long a deleted or replaced segment file stays open before it is removed."},
	"flush.messages":                 {5, "fsync after this many records; 1 means every append is fsynced before it is acknowledged (group committed)."},
	"flush.ms":                       {5, "fsync data older than this; the scheduler checks every second."},
	"index.interval.bytes":           {3, "Log bytes between two offset index entries."},
	"max.message.bytes":              {3, "Largest record batch the topic accepts."},
	"message.timestamp.type":         {2, "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."},
	"min.compaction.lag.ms":          {5, "Records younger than this are never compacted."},
	"min.insync.replicas":            {3, "With acks=all, the fewest in-sync replicas a partition leader accepts a write with (NOT_ENOUGH_REPLICAS below it)."},
	"retention.bytes":                {5, "Delete the oldest segments while the partition is larger than this; -1 means no limit."},
	"retention.ms":                   {5, "Delete segments whose newest record is older than this; -1 means no limit."},
	"segment.bytes":                  {3, "Roll to a new segment file when the active one would grow past this size."},
	"segment.index.bytes":            {3, "Preallocated size of each segment's offset and time index."},
	"segment.ms":                     {5, "Roll to a new segment when the active one spans more than this much time."},
	"unclean.leader.election.enable": {1, "Whether a cluster may elect a replica outside the ISR when every ISR member is dead, accepting the loss of records only they had."},
}
