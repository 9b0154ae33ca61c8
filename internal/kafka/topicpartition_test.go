package kafka

import "testing"

func TestDirNameRoundTrip(t *testing.T) {
	for _, tp := range []TopicPartition{{"a", 0}, {"with-dash-7", 12}, {"x.y_z", 2147483647}} {
		got, ok := ParseDirName(tp.DirName())
		if !ok || got != tp {
			t.Fatalf("%v: parsed %v %v", tp, got, ok)
		}
	}
	for _, bad := range []string{"", "-1", "t", "t-", "t-x"} {
		if _, ok := ParseDirName(bad); ok {
			t.Fatalf("%q parsed", bad)
		}
	}
}

// Java's String.hashCode, abs, modulo: values computed with Kafka's
// Utils.abs("...".hashCode()) % n.
func TestPartitionForMatchesJava(t *testing.T) {
	for _, c := range []struct {
		key  string
		n    int32
		want int32
	}{
		{"", 50, 0},
		{"a", 50, 47},                 // "a".hashCode() = 97
		{"group", 50, 47},             // "group".hashCode() = 98629247
		{"polygenelubricants", 50, 0}, // hashCode() = Integer.MIN_VALUE → abs 0
	} {
		if got := PartitionFor(c.key, c.n); got != c.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", c.key, c.n, got, c.want)
		}
	}
}
