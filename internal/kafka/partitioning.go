package kafka

// PartitionFor is the partition of an internal topic that holds a key (a
// group id, a transactional id): Kafka's Utils.abs(key.hashCode()) %
// partitions, with Java's String.hashCode over UTF-16 code units, so a key
// lands where Kafka would put it.
func PartitionFor(key string, partitions int32) int32 {
	var h int32
	for _, r := range key {
		if r >= 0x10000 { // a surrogate pair in UTF-16
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	// Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}
