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
