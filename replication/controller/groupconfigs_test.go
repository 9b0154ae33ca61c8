package controller

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
)

// A group's overrides are replaced whole by each record, need no group
// (nor topic) to exist, are removed by an empty set, survive a JSON round
// trip of the image (a snapshot) and a Clone, and a map handed out before
// a change keeps its contents.
func TestGroupConfigsRecordAndImage(t *testing.T) {
	cl := newCluster(t, "")
	recs, err := cl.c.AlterGroupConfigs("g", map[string]string{"share.record.lock.duration.ms": "15000", "share.auto.offset.reset": "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	cl.commit(recs)
	first := cl.im.GroupConfig("g")
	if len(first) != 2 || first["share.auto.offset.reset"] != "earliest" {
		t.Fatalf("after set: %v", first)
	}
	if cl.im.GroupConfig("other") != nil {
		t.Fatal("a group never configured has overrides")
	}

	recs, _ = cl.c.AlterGroupConfigs("g", map[string]string{"consumer.session.timeout.ms": "50000"})
	cl.commit(recs)
	if got := cl.im.GroupConfig("g"); !maps.Equal(got, map[string]string{"consumer.session.timeout.ms": "50000"}) {
		t.Fatalf("after replace: %v", got)
	}
	if len(first) != 2 {
		t.Fatalf("the map handed out before the change changed: %v", first)
	}

	recs, _ = cl.c.AlterGroupConfigs("h", map[string]string{"share.isolation.level": "read_committed"})
	cl.commit(recs)
	data, err := json.Marshal(cl.im)
	if err != nil {
		t.Fatal(err)
	}
	var back Image
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	clone := cl.im.Clone()
	for _, im := range []*Image{&back, clone} {
		if !maps.Equal(im.GroupConfig("h"), cl.im.GroupConfig("h")) || !maps.Equal(im.GroupConfig("g"), cl.im.GroupConfig("g")) {
			t.Fatalf("copy %v, want %v", im.GroupConfigs, cl.im.GroupConfigs)
		}
	}
	clone.GroupConfigs["h"]["x"] = "y"
	if _, ok := cl.im.GroupConfig("h")["x"]; ok {
		t.Fatal("Clone shares the group's map")
	}

	recs, _ = cl.c.AlterGroupConfigs("g", nil)
	cl.commit(recs)
	if _, ok := cl.im.GroupConfigs["g"]; ok || cl.im.GroupConfig("g") != nil {
		t.Fatalf("after clearing: %v", cl.im.GroupConfigs)
	}
}

func TestGroupConfigsRefusals(t *testing.T) {
	cl := newCluster(t, "")
	if _, err := cl.c.AlterGroupConfigs("", map[string]string{"a": "b"}); !errors.Is(err, ErrInvalidGroupConfig) {
		t.Errorf("empty group: %v", err)
	}
	if _, err := cl.c.AlterGroupConfigs("g", map[string]string{"": "b"}); !errors.Is(err, ErrInvalidGroupConfig) {
		t.Errorf("empty name: %v", err)
	}
	im := NewImage()
	if err := im.Apply(Record{GroupConfigs: &GroupConfigs{}}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("record without a group: %v", err)
	}
	// An old image (no GroupConfigs field) reads as no overrides.
	var old Image
	if err := json.Unmarshal([]byte(`{"Brokers":{},"Topics":{},"NextProducerID":0}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.GroupConfig("g") != nil {
		t.Fatal("old image has group configs")
	}
	if err := old.Apply(Record{GroupConfigs: &GroupConfigs{Group: "g", Configs: map[string]string{"a": "b"}}}); err != nil || old.GroupConfig("g")["a"] != "b" {
		t.Fatalf("apply on an old image: %v %v", err, old.GroupConfigs)
	}
}
