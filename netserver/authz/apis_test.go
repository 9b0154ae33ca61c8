package authz

import "testing"

// servedKeys are the API keys netserver/handler/api_table.go serves
// (copied: handler will import this package, so this test cannot import
// it), plus the ACL, SASL, quota and SCRAM keys issue 14 adds.
var servedKeys = []int16{0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	32, 33, 35, 37, 42, 43, 44, 45, 46, 47, 60, 61, 65, 66, 68, 69,
	17, 29, 30, 31, 36, 48, 49, 50, 51}

func TestEveryServedKeyHasARow(t *testing.T) {
	for _, k := range servedKeys {
		r, ok := Required(k)
		if !ok {
			t.Errorf("api key %d has no row", k)
			continue
		}
		if r.Key != k || r.Name == "" {
			t.Errorf("row %d: %+v", k, r)
		}
		for i, c := range r.Checks {
			if !c.Resource.concrete() || c.Operation < OpRead || c.Operation > OpDescribeTokens {
				t.Errorf("%s check %d: %+v", r.Name, i, c)
			}
			if c.OrPrevious && i == 0 {
				t.Errorf("%s: first check is an alternative", r.Name)
			}
			if DeniedError(c.Resource) == 0 {
				t.Errorf("%s: no denial code for %s", r.Name, c.Resource)
			}
			if !supports(c.Resource, c.Operation) {
				t.Errorf("%s: %s is no operation of %s", r.Name, c.Operation, c.Resource)
			}
		}
	}
	if _, ok := Required(99); ok {
		t.Error("row for key 99")
	}
}

func supports(t ResourceType, op Operation) bool {
	for _, o := range SupportedOperations(t) {
		if o == op {
			return true
		}
	}
	return false
}

type want struct {
	op  Operation
	res ResourceType
}

// TestTableAgainstKafka checks a representative set of rows against
// Kafka's "Operations and Resources on Protocols" table (and KafkaApis
// where the two differ).
func TestTableAgainstKafka(t *testing.T) {
	cases := map[int16][]want{
		0:  {{OpWrite, ResourceTransactionalID}, {OpWrite, ResourceTopic}},
		1:  {{OpClusterAction, ResourceCluster}, {OpRead, ResourceTopic}},
		2:  {{OpDescribe, ResourceTopic}},
		3:  {{OpDescribe, ResourceTopic}, {OpCreate, ResourceCluster}, {OpCreate, ResourceTopic}, {OpDescribe, ResourceCluster}},
		8:  {{OpRead, ResourceGroup}, {OpRead, ResourceTopic}},
		9:  {{OpDescribe, ResourceGroup}, {OpDescribe, ResourceTopic}},
		10: {{OpDescribe, ResourceGroup}, {OpDescribe, ResourceTransactionalID}, {OpClusterAction, ResourceCluster}},
		11: {{OpRead, ResourceGroup}},
		16: {{OpDescribe, ResourceCluster}, {OpDescribe, ResourceGroup}},
		18: nil,
		19: {{OpCreate, ResourceCluster}, {OpCreate, ResourceTopic}, {OpDescribeConfigs, ResourceTopic}},
		20: {{OpDelete, ResourceTopic}},
		21: {{OpDelete, ResourceTopic}},
		22: {{OpWrite, ResourceTransactionalID}, {OpIdempotentWrite, ResourceCluster}, {OpWrite, ResourceTopic}},
		23: {{OpClusterAction, ResourceCluster}, {OpDescribe, ResourceTopic}},
		25: {{OpWrite, ResourceTransactionalID}, {OpRead, ResourceGroup}},
		26: {{OpWrite, ResourceTransactionalID}},
		27: {{OpAlter, ResourceCluster}, {OpClusterAction, ResourceCluster}},
		28: {{OpWrite, ResourceTransactionalID}, {OpRead, ResourceGroup}, {OpRead, ResourceTopic}},
		29: {{OpDescribe, ResourceCluster}},
		30: {{OpAlter, ResourceCluster}},
		31: {{OpAlter, ResourceCluster}},
		32: {{OpDescribeConfigs, ResourceCluster}, {OpDescribeConfigs, ResourceTopic}, {OpDescribeConfigs, ResourceGroup}},
		35: {{OpDescribe, ResourceCluster}},
		37: {{OpAlter, ResourceTopic}},
		42: {{OpDelete, ResourceGroup}},
		45: {{OpAlter, ResourceCluster}},
		46: {{OpDescribe, ResourceCluster}},
		47: {{OpDelete, ResourceGroup}, {OpRead, ResourceTopic}},
		48: {{OpDescribeConfigs, ResourceCluster}},
		49: {{OpAlterConfigs, ResourceCluster}},
		50: {{OpDescribe, ResourceCluster}},
		51: {{OpAlter, ResourceCluster}},
		61: {{OpRead, ResourceTopic}},
		65: {{OpDescribe, ResourceTransactionalID}, {OpDescribe, ResourceTopic}},
		66: {{OpDescribe, ResourceTransactionalID}},
		68: {{OpRead, ResourceGroup}},
		69: {{OpDescribe, ResourceGroup}},
		83: {{OpClusterAction, ResourceCluster}},
		84: {{OpClusterAction, ResourceCluster}},
		85: {{OpClusterAction, ResourceCluster}},
		86: {{OpClusterAction, ResourceCluster}},
		87: {{OpClusterAction, ResourceCluster}},
	}
	for key, ws := range cases {
		r, _ := Required(key)
		if len(r.Checks) != len(ws) {
			t.Errorf("%d %s: %d checks, want %d", key, r.Name, len(r.Checks), len(ws))
			continue
		}
		for i, w := range ws {
			if c := r.Checks[i]; c.Operation != w.op || c.Resource != w.res {
				t.Errorf("%d %s check %d: %s %s, want %s %s", key, r.Name, i, c.Operation, c.Resource, w.op, w.res)
			}
		}
	}
	// Alternatives Kafka tries in order.
	for _, key := range []int16{16, 19, 22, 23, 27} {
		r, _ := Required(key)
		found := false
		for _, c := range r.Checks {
			found = found || c.OrPrevious
		}
		if !found {
			t.Errorf("%s: no alternative", r.Name)
		}
	}
	if r, _ := Required(22); r.Checks[2].Scope != ScopeAnyOfType {
		t.Error("InitProducerId's topic WRITE is by resource type")
	}
}

func TestDeniedError(t *testing.T) {
	for typ, code := range map[ResourceType]int16{
		ResourceTopic: 29, ResourceGroup: 30, ResourceCluster: 31, ResourceTransactionalID: 53, ResourceDelegationToken: 65, ResourceAny: 0,
	} {
		if got := DeniedError(typ); got != code {
			t.Errorf("DeniedError(%s) = %d, want %d", typ, got, code)
		}
	}
}
