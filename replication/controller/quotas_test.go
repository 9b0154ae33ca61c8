package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sp(s string) *string { return &s }

func part(typ string, name *string) QuotaEntityPart { return QuotaEntityPart{Type: typ, Name: name} }

func set(key string, v float64) QuotaOp { return QuotaOp{Key: key, Value: v} }

func remove(key string) QuotaOp { return QuotaOp{Key: key, Remove: true} }

// AlterClientQuotas sets and removes keys, records only changes, and
// keeps one result per entity.
func TestAlterClientQuotas(t *testing.T) {
	cl := newCluster(t)
	alice := []QuotaEntityPart{part(QuotaUser, sp("alice"))}
	aliceApp := []QuotaEntityPart{part(QuotaUser, sp("alice")), part(QuotaClientID, sp("app"))}
	defaultClient := []QuotaEntityPart{part(QuotaClientID, nil)}
	recs, res := cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: alice, Ops: []QuotaOp{set(QuotaProducerByteRate, 1024), set(QuotaRequestPercentage, 12.5)}},
		{Entity: aliceApp, Ops: []QuotaOp{set(QuotaConsumerByteRate, 2048)}},
		{Entity: defaultClient, Ops: []QuotaOp{set(QuotaControllerMutationRate, 0.5), remove(QuotaProducerByteRate)}},
	})
	if len(recs) != 4 || len(res) != 3 {
		t.Fatalf("records %v, results %v", recs, res)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("result %+v", r)
		}
	}
	cl.commit(recs)
	want := map[QuotaEntity]map[string]float64{
		{User: Named("alice")}:                         {QuotaProducerByteRate: 1024, QuotaRequestPercentage: 12.5},
		{User: Named("alice"), ClientID: Named("app")}: {QuotaConsumerByteRate: 2048},
		{ClientID: DefaultName}:                        {QuotaControllerMutationRate: 0.5},
	}
	if !reflect.DeepEqual(cl.im.ClientQuotas, want) {
		t.Fatalf("image %v", cl.im.ClientQuotas)
	}
	// The same values again, and a removal of an absent key: no records.
	recs, res = cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: alice, Ops: []QuotaOp{set(QuotaProducerByteRate, 1024), remove(QuotaConsumerByteRate)}},
	})
	if len(recs) != 0 || res[0].Err != nil {
		t.Fatalf("unchanged: %v %v", recs, res)
	}
	// Removing every key removes the entity.
	recs, _ = cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: alice, Ops: []QuotaOp{remove(QuotaProducerByteRate), remove(QuotaRequestPercentage)}},
		{Entity: aliceApp, Ops: []QuotaOp{set(QuotaConsumerByteRate, 4096)}},
	})
	cl.commit(recs)
	if _, ok := cl.im.ClientQuotas[QuotaEntity{User: Named("alice")}]; ok || len(cl.im.ClientQuotas) != 2 {
		t.Fatalf("image after removals %v", cl.im.ClientQuotas)
	}
	if v := cl.im.ClientQuotas[QuotaEntity{User: Named("alice"), ClientID: Named("app")}][QuotaConsumerByteRate]; v != 4096 {
		t.Fatalf("changed value %v", v)
	}
	// An ip entity takes connection_creation_rate only.
	recs, res = cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: []QuotaEntityPart{part(QuotaIP, sp("10.0.0.1"))}, Ops: []QuotaOp{set(QuotaConnectionCreationRate, 10)}},
		{Entity: []QuotaEntityPart{part(QuotaIP, nil)}, Ops: []QuotaOp{set(QuotaConnectionCreationRate, 100)}},
	})
	if len(recs) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("ip quotas: %v %v", recs, res)
	}
}

// Kafka's refusals, each INVALID_REQUEST with its message, and no records
// for a refused entity.
func TestAlterClientQuotasRefusals(t *testing.T) {
	cl := newCluster(t)
	cases := []struct {
		name    string
		alt     QuotaAlteration
		message string
	}{
		{"empty entity", QuotaAlteration{Ops: []QuotaOp{set(QuotaProducerByteRate, 1)}}, "Invalid empty client quota entity"},
		{"unknown type", QuotaAlteration{Entity: []QuotaEntityPart{part("group", sp("g"))}}, "Unhandled client quota entity type: group"},
		{"empty name", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaUser, sp(""))}}, "Empty user not supported"},
		{"ip with user", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaIP, sp("1.2.3.4")), part(QuotaUser, sp("u"))}},
			"IP entity should not be combined"},
		{"bad ip", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaIP, sp("not-an-ip"))}}, "not-an-ip is not a valid IP"},
		{"unknown key", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaUser, sp("u"))}, Ops: []QuotaOp{set("retention.ms", 1)}},
			"Invalid configuration key retention.ms"},
		{"ip key on a user", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaUser, sp("u"))}, Ops: []QuotaOp{set(QuotaConnectionCreationRate, 1)}},
			"Invalid configuration key connection_creation_rate"},
		{"user key on an ip", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaIP, nil)}, Ops: []QuotaOp{set(QuotaProducerByteRate, 1)}},
			"Invalid configuration key producer_byte_rate"},
		{"zero", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaClientID, sp("c"))}, Ops: []QuotaOp{set(QuotaRequestPercentage, 0)}},
			"Quota request_percentage must be greater than 0"},
		{"fraction of a long", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaClientID, sp("c"))}, Ops: []QuotaOp{set(QuotaProducerByteRate, 10.5)}},
			"producer_byte_rate cannot be a fractional value."},
		{"int too large", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaIP, nil)}, Ops: []QuotaOp{set(QuotaConnectionCreationRate, 1e10)}},
			"too large for an INT"},
		{"duplicate key", QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaUser, sp("dup"))},
			Ops: []QuotaOp{set(QuotaProducerByteRate, 1), set(QuotaProducerByteRate, 2)}}, "Ignoring duplicate entity"},
	}
	for _, c := range cases {
		recs, res := cl.c.AlterClientQuotas([]QuotaAlteration{c.alt})
		if len(recs) != 0 || len(res) != 1 || !errors.Is(res[0].Err, ErrInvalidQuota) || !strings.Contains(res[0].Err.Error(), c.message) {
			t.Errorf("%s: records %v, results %+v; want ErrInvalidQuota %q", c.name, recs, res, c.message)
		}
	}
	// A valid key before an invalid one of the same entity is not
	// recorded either; another entity of the request is.
	recs, res := cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: []QuotaEntityPart{part(QuotaUser, sp("u"))}, Ops: []QuotaOp{set(QuotaProducerByteRate, 1), set(QuotaConsumerByteRate, -1)}},
		{Entity: []QuotaEntityPart{part(QuotaUser, sp("v"))}, Ops: []QuotaOp{set(QuotaProducerByteRate, 1)}},
	})
	if len(recs) != 1 || recs[0].ClientQuota.Entity.User.Name != "v" || res[0].Err == nil || res[1].Err != nil {
		t.Fatalf("records %v, results %+v", recs, res)
	}
	// An entity named twice: one result, the error, and the first
	// mention's records stand (Kafka's atomic result keeps them).
	recs, res = cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: []QuotaEntityPart{part(QuotaUser, sp("w")), part(QuotaClientID, nil)}, Ops: []QuotaOp{set(QuotaProducerByteRate, 1)}},
		{Entity: []QuotaEntityPart{part(QuotaClientID, nil), part(QuotaUser, sp("w"))}, Ops: []QuotaOp{set(QuotaConsumerByteRate, 1)}},
	})
	if len(recs) != 1 || len(res) != 1 || !strings.Contains(res[0].Err.Error(), "Ignoring duplicate entity") {
		t.Fatalf("entity twice: records %v, results %+v", recs, res)
	}
	// A type named twice keeps its last name (Kafka's request map).
	recs, res = cl.c.AlterClientQuotas([]QuotaAlteration{
		{Entity: []QuotaEntityPart{part(QuotaUser, sp("x")), part(QuotaUser, sp("y"))}, Ops: []QuotaOp{set(QuotaProducerByteRate, 1)}},
	})
	if len(recs) != 1 || recs[0].ClientQuota.Entity != (QuotaEntity{User: Named("y")}) || res[0].Err != nil || len(res[0].Entity) != 1 {
		t.Fatalf("type twice: records %v, results %+v", recs, res)
	}
}

func quotaImage(t *testing.T) map[QuotaEntity]map[string]float64 {
	cl := newCluster(t)
	var alts []QuotaAlteration
	for _, e := range [][]QuotaEntityPart{
		{part(QuotaUser, sp("alice"))},
		{part(QuotaUser, nil)},
		{part(QuotaUser, sp("alice")), part(QuotaClientID, sp("app"))},
		{part(QuotaUser, sp("alice")), part(QuotaClientID, nil)},
		{part(QuotaClientID, sp("app"))},
		{part(QuotaClientID, nil)},
	} {
		alts = append(alts, QuotaAlteration{Entity: e, Ops: []QuotaOp{set(QuotaProducerByteRate, 100)}})
	}
	alts = append(alts, QuotaAlteration{Entity: []QuotaEntityPart{part(QuotaIP, sp("127.0.0.1"))}, Ops: []QuotaOp{set(QuotaConnectionCreationRate, 5)}})
	recs, _ := cl.c.AlterClientQuotas(alts)
	cl.commit(recs)
	return cl.im.ClientQuotas
}

// DescribeClientQuotas matches as Kafka's ClientQuotasImage does.
func TestDescribeClientQuotas(t *testing.T) {
	quotas := quotaImage(t)
	exact := func(typ, name string) QuotaFilterComponent {
		return QuotaFilterComponent{EntityType: typ, MatchType: QuotaMatchExact, Match: sp(name)}
	}
	def := func(typ string) QuotaFilterComponent {
		return QuotaFilterComponent{EntityType: typ, MatchType: QuotaMatchDefault}
	}
	any := func(typ string) QuotaFilterComponent {
		return QuotaFilterComponent{EntityType: typ, MatchType: QuotaMatchSpecified}
	}
	cases := []struct {
		name   string
		comps  []QuotaFilterComponent
		strict bool
		want   []string
	}{
		{"everything", nil, false, []string{"{user=<default>}", "{user=<default>}", "", "", "", "", ""}},
		{"nothing strict", nil, true, nil},
		{"user alice", []QuotaFilterComponent{exact(QuotaUser, "alice")}, false,
			[]string{"{user=alice}", "{user=alice, client-id=<default>}", "{user=alice, client-id=app}"}},
		{"user alice strict", []QuotaFilterComponent{exact(QuotaUser, "alice")}, true, []string{"{user=alice}"}},
		{"default user", []QuotaFilterComponent{def(QuotaUser)}, false, []string{"{user=<default>}"}},
		{"any user", []QuotaFilterComponent{any(QuotaUser)}, true, []string{"{user=<default>}", "{user=alice}"}},
		{"alice, any client", []QuotaFilterComponent{exact(QuotaUser, "alice"), any(QuotaClientID)}, true,
			[]string{"{user=alice, client-id=<default>}", "{user=alice, client-id=app}"}},
		{"client app", []QuotaFilterComponent{exact(QuotaClientID, "app")}, false,
			[]string{"{client-id=app}", "{user=alice, client-id=app}"}},
		{"default client strict", []QuotaFilterComponent{def(QuotaClientID)}, true, []string{"{client-id=<default>}"}},
		{"ip", []QuotaFilterComponent{any(QuotaIP)}, false, []string{"{ip=127.0.0.1}"}},
		{"nobody", []QuotaFilterComponent{exact(QuotaUser, "bob")}, false, nil},
	}
	for _, c := range cases {
		got, err := DescribeClientQuotas(quotas, c.comps, c.strict)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.name == "everything" {
			if len(got) != len(quotas) {
				t.Errorf("everything: %d entries of %d", len(got), len(quotas))
			}
			continue
		}
		var names []string
		for _, e := range got {
			names = append(names, e.Entity.String())
		}
		if !reflect.DeepEqual(names, c.want) {
			t.Errorf("%s: %v, want %v", c.name, names, c.want)
		}
	}
	bad := []struct {
		comps []QuotaFilterComponent
		want  error
	}{
		{[]QuotaFilterComponent{{EntityType: "", MatchType: QuotaMatchSpecified}}, ErrInvalidQuotaFilter},
		{[]QuotaFilterComponent{any(QuotaUser), def(QuotaUser)}, ErrInvalidQuotaFilter},
		{[]QuotaFilterComponent{any("group")}, ErrUnsupportedQuotaFilter},
		{[]QuotaFilterComponent{{EntityType: QuotaUser, MatchType: QuotaMatchExact}}, ErrInvalidQuotaFilter},
		{[]QuotaFilterComponent{{EntityType: QuotaUser, MatchType: QuotaMatchDefault, Match: sp("x")}}, ErrInvalidQuotaFilter},
		{[]QuotaFilterComponent{{EntityType: QuotaUser, MatchType: QuotaMatchSpecified, Match: sp("x")}}, ErrInvalidQuotaFilter},
		{[]QuotaFilterComponent{{EntityType: QuotaUser, MatchType: 7}}, ErrInvalidQuotaFilter},
		{[]QuotaFilterComponent{any(QuotaIP), exact(QuotaClientID, "c")}, ErrInvalidQuotaFilter},
	}
	for i, b := range bad {
		if _, err := DescribeClientQuotas(quotas, b.comps, false); !errors.Is(err, b.want) {
			t.Errorf("bad filter %d: %v, want %v", i, err, b.want)
		}
	}
}

// Client quotas are part of the image's snapshot and of its clones; an
// older snapshot loads without them and a record with a default name
// round-trips.
func TestClientQuotasSnapshot(t *testing.T) {
	cl := newCluster(t)
	cl.im.ClientQuotas = quotaImage(t)
	data, err := json.Marshal(cl.im)
	if err != nil {
		t.Fatal(err)
	}
	back := NewImage()
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	if !reflect.DeepEqual(back.ClientQuotas, cl.im.ClientQuotas) {
		t.Fatalf("round trip:\n%v\n%v", back.ClientQuotas, cl.im.ClientQuotas)
	}
	c := cl.im.Clone()
	recs, _ := cl.c.AlterClientQuotas([]QuotaAlteration{{Entity: []QuotaEntityPart{part(QuotaUser, nil)}, Ops: []QuotaOp{remove(QuotaProducerByteRate)}}})
	cl.commit(recs)
	if _, ok := c.ClientQuotas[QuotaEntity{User: DefaultName}]; !ok || len(c.ClientQuotas) != len(cl.im.ClientQuotas)+1 {
		t.Fatalf("clone shares quotas: %v / %v", c.ClientQuotas, cl.im.ClientQuotas)
	}
	old := NewImage()
	if err := json.Unmarshal([]byte(`{"Brokers":{},"Topics":{},"NextProducerID":1000}`), old); err != nil || old.ClientQuotas != nil {
		t.Fatalf("old snapshot: %v %v", old, err)
	}
	rec := Record{ClientQuota: &ClientQuota{Entity: QuotaEntity{User: Named("a"), ClientID: DefaultName}, Key: QuotaProducerByteRate, Value: 5}}
	data, _ = json.Marshal(rec)
	if !bytes.Contains(data, []byte(`[{"Type":"user","Name":"a"},{"Type":"client-id","Name":null}]`)) {
		t.Fatalf("record JSON %s", data)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil || !reflect.DeepEqual(r, rec) {
		t.Fatalf("record round trip %+v %v", r, err)
	}
	var none Image
	if err := none.Apply(rec); err != nil || none.ClientQuotas[rec.ClientQuota.Entity][QuotaProducerByteRate] != 5 {
		t.Fatalf("apply to an empty image: %v %v", err, none.ClientQuotas)
	}
	if err := none.Apply(Record{ClientQuota: &ClientQuota{Key: QuotaProducerByteRate}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("a record without entity: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"ClientQuota":{"Entity":[{"Type":"group","Name":"g"}],"Key":"k"}}`), &r); err == nil {
		t.Fatal("an unknown entity type decoded")
	}
}
