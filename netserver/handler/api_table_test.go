package handler

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/wire"
)

// Every row of the API table, at every version it serves, dispatches a
// minimal request to a handler that answers the right response kind at the
// request's version, and the answer encodes and decodes at that version.
// The one request answered with nothing is Produce with acks=0.
func TestEveryAdvertisedVersionHasAHandler(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	if len(apis) == 0 {
		t.Fatal("empty API table")
	}
	for _, a := range apis {
		for v := a.min; v <= a.max; v++ {
			req := kmsg.RequestForKey(a.key)
			if req == nil {
				t.Fatalf("key %d: kmsg has no request type", a.key)
			}
			req.SetVersion(v)
			if p, ok := req.(*kmsg.ProduceRequest); ok {
				p.Acks = 0
				if resp := dispatch(t, b, req); resp != nil {
					t.Errorf("Produce v%d acks=0 answered %T, want no response", v, resp)
				}
				p.Acks = -1
			}
			checkResponse(t, a.key, v, dispatch(t, b, req))
		}
	}
}

// dispatch sends req through Handle, as the server does, turning a panic
// (a row whose handler takes another request type) into a failure.
func dispatch(t *testing.T, b *Broker, req kmsg.Request) (resp kmsg.Response) {
	t.Helper()
	name := fmt.Sprintf("%s v%d", kmsg.NameForKey(req.Key()), req.GetVersion())
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: handler panicked: %v", name, r)
			resp = nil
		}
	}()
	wr := &wire.Request{Header: wire.Header{Key: req.Key(), Version: req.GetVersion(), ClientID: "test"}, Msg: req, ClientHost: "/127.0.0.1"}
	return b.Handle(context.Background(), wr)
}

func checkResponse(t *testing.T, key, version int16, resp kmsg.Response) {
	t.Helper()
	name := fmt.Sprintf("%s v%d", kmsg.NameForKey(key), version)
	if resp == nil {
		t.Errorf("%s: no response", name)
		return
	}
	if fr, ok := resp.(*FetchResponse); ok {
		if err := fr.Materialize(); err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		resp = fr.FetchResponse
	}
	if resp.Key() != key || resp.GetVersion() != version {
		t.Errorf("%s: answered %s v%d", name, kmsg.NameForKey(resp.Key()), resp.GetVersion())
		return
	}
	decoded := kmsg.ResponseForKey(key)
	decoded.SetVersion(version)
	if err := decoded.ReadFrom(resp.AppendTo(nil)); err != nil {
		t.Errorf("%s: answer does not decode: %v", name, err)
	}
}

// ApiVersions advertises exactly the table (capped by kmsg), Supports agrees
// with it at both ends of every range, and Handle answers nothing for a
// key outside it.
func TestApiVersionsIsTheTable(t *testing.T) {
	b, closeBroker, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	resp := dispatch(t, b, req).(*kmsg.ApiVersionsResponse)
	if len(resp.ApiKeys) != len(apis) {
		t.Fatalf("ApiVersions advertises %d keys, the table has %d", len(resp.ApiKeys), len(apis))
	}
	seen := map[int16]bool{}
	for i, a := range apis {
		k := resp.ApiKeys[i]
		if k.ApiKey != a.key || k.MinVersion != a.min || k.MaxVersion != a.max {
			t.Errorf("advertised %+v, table row %d has key %d v%d-v%d", k, i, a.key, a.min, a.max)
		}
		if seen[a.key] {
			t.Errorf("key %d has two rows", a.key)
		}
		seen[a.key] = true
		if a.min > a.max {
			t.Errorf("key %d: empty range v%d-v%d", a.key, a.min, a.max)
		}
		if max := kmsg.RequestForKey(a.key).MaxVersion(); a.max > max {
			t.Errorf("key %d: advertises v%d, kmsg decodes up to v%d", a.key, a.max, max)
		}
		for v, want := range map[int16]bool{a.min - 1: false, a.min: true, a.max: true, a.max + 1: false} {
			if Supports(a.key, v) != want {
				t.Errorf("Supports(%d, %d) = %v, want %v", a.key, v, !want, want)
			}
		}
	}
	for key := int16(0); key < 100; key++ {
		if seen[key] || Supports(key, 0) {
			continue
		}
		if r := kmsg.RequestForKey(key); r != nil {
			if resp := dispatch(t, b, r); resp != nil {
				t.Errorf("key %d (%s) has no row but was answered %T", key, kmsg.NameForKey(key), resp)
			}
		}
	}
}

// requireServed fails the test unless the table advertises key at
// version: the wire layer, not Handle, turns away other versions, so a
// test of a new version checks the row too.
func requireServed(t testing.TB, key, version int16) {
	t.Helper()
	if !Supports(key, version) {
		t.Fatalf("%s v%d is not advertised", kmsg.NameForKey(key), version)
	}
}
