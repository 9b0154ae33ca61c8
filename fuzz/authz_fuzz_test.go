package fuzz

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

// FuzzACLRecord decodes arbitrary bytes as an ACL metadata record
// (Kafka's AccessControlEntryRecord / RemoveAccessControlEntryRecord
// framing). It must never panic; a record it accepts must re-encode to
// one that decodes to the same record, no longer than the input (unknown
// tagged fields are dropped); and replaying an accepted record into an
// authorizer must not panic either.
func FuzzACLRecord(f *testing.F) {
	b := authz.Binding{
		Pattern: authz.Pattern{Type: authz.ResourceTopic, Name: "app.", PatternType: authz.PatternPrefixed},
		Entry:   authz.Entry{Principal: "User:alice", Host: "*", Operation: authz.OpWrite, Permission: authz.PermissionAllow},
	}
	f.Add(authz.Record{ID: authz.ID{1}, Binding: b}.AppendTo(nil))
	f.Add(authz.Record{Remove: true, ID: authz.ID{1}}.AppendTo(nil))
	f.Add([]byte{1, 19, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		rec, err := authz.DecodeRecord(in)
		if err != nil {
			return
		}
		out := rec.AppendTo(nil)
		if len(out) > len(in) {
			t.Fatalf("re-encoding grew: %d > %d", len(out), len(in))
		}
		again, err := authz.DecodeRecord(out)
		if err != nil || again != rec {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, rec)
		}
		if !rec.Remove && rec.Binding.Validate() == nil && !bytes.Equal(in, out) && len(in) == len(out) {
			t.Fatalf("same length, different bytes: %x vs %x", in, out)
		}
		a, _ := authz.New(authz.Config{})
		if rec.Remove {
			_ = a.Remove(rec.ID)
			return
		}
		if err := a.Add(rec.ID, rec.Binding); err != nil {
			return
		}
		r := authz.Request{Principal: rec.Binding.Entry.Principal, Host: rec.Binding.Entry.Host,
			Operation: rec.Binding.Entry.Operation, Resource: authz.Resource{Type: rec.Binding.Pattern.Type, Name: rec.Binding.Pattern.Name}}
		if d := a.Authorize(r); r.Operation >= authz.OpRead && d.Allowed != (rec.Binding.Entry.Permission == authz.PermissionAllow) {
			t.Fatalf("the acl's own request: %+v for %v", d, rec.Binding)
		}
		_ = a.AuthorizeAny(r.Principal, r.Host, authz.OpWrite, r.Resource.Type)
		if got := a.ACLs(authz.FilterOf(rec.Binding)); len(got) != 1 || got[0].ID != rec.ID {
			t.Fatalf("FilterOf does not find the acl: %+v", got)
		}
	})
}

// FuzzACLRequests decodes arbitrary bytes as a CreateAcls, DescribeAcls or
// DeleteAcls request (the first byte picks the key, the second the
// version) and runs the whole ACL path on it: conversion, Add of the valid
// creations, DescribeAcls and DeleteAcls against them, and encoding of
// every response. Nothing may panic; every ACL a filter returns must match
// it; creations that convert without error must be accepted by Add.
func FuzzACLRequests(f *testing.F) {
	seed := func(key byte, req kmsg.Request) {
		f.Add(append([]byte{key, byte(req.GetVersion())}, req.AppendTo(nil)...))
	}
	c := kmsg.NewPtrCreateACLsRequest()
	c.Version = 3
	cr := kmsg.NewCreateACLsRequestCreation()
	cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = kmsg.ACLResourceTypeTopic, "foo", kmsg.ACLResourcePatternTypePrefixed
	cr.Principal, cr.Host, cr.Operation, cr.PermissionType = "User:alice", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
	c.Creations = []kmsg.CreateACLsRequestCreation{cr, cr}
	seed(0, c)
	d := kmsg.NewPtrDescribeACLsRequest()
	d.Version = 3
	d.ResourceType, d.ResourcePatternType, d.Operation, d.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeMatch, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	name := "foobar"
	d.ResourceName = &name
	seed(1, d)
	del := kmsg.NewPtrDeleteACLsRequest()
	del.Version = 1
	fl := kmsg.NewDeleteACLsRequestFilter()
	fl.ResourceType, fl.ResourcePatternType, fl.Operation, fl.PermissionType = kmsg.ACLResourceTypeTopic, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	del.Filters = []kmsg.DeleteACLsRequestFilter{fl}
	seed(2, del)

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		version, body := int16(in[1]%4), in[2:]
		a, _ := authz.New(authz.Config{AllowIfNoACL: in[1]&4 != 0})
		// A fixed population the filters run against.
		for i, b := range []authz.Binding{
			{Pattern: authz.Pattern{Type: authz.ResourceTopic, Name: "foo", PatternType: authz.PatternLiteral}, Entry: authz.Entry{Principal: "User:alice", Host: "*", Operation: authz.OpRead, Permission: authz.PermissionAllow}},
			{Pattern: authz.Pattern{Type: authz.ResourceTopic, Name: "*", PatternType: authz.PatternLiteral}, Entry: authz.Entry{Principal: "User:*", Host: "10.0.0.1", Operation: authz.OpAll, Permission: authz.PermissionDeny}},
			{Pattern: authz.Pattern{Type: authz.ResourceGroup, Name: "g", PatternType: authz.PatternPrefixed}, Entry: authz.Entry{Principal: "User:bob", Host: "*", Operation: authz.OpRead, Permission: authz.PermissionAllow}},
		} {
			if err := a.Add(authz.ID{byte(i + 1)}, b); err != nil {
				t.Fatal(err)
			}
		}
		checkFilter := func(f authz.Filter) []authz.ACL {
			got := a.ACLs(f)
			for _, acl := range got {
				if !f.Matches(acl.Binding) {
					t.Fatalf("ACLs(%+v) returned %v, which it does not match", f, acl.Binding)
				}
			}
			return got
		}
		switch in[0] % 3 {
		case 0:
			req := kmsg.NewPtrCreateACLsRequest()
			req.Version = version
			if req.ReadFrom(body) != nil {
				return
			}
			bs, errs := authz.BindingsFromCreate(req)
			for i, b := range bs {
				if errs[i] != nil {
					continue
				}
				if _, dup := a.Find(b); dup {
					continue
				}
				if err := a.Add(authz.ID{0xff, byte(i), byte(i >> 8)}, b); err != nil {
					t.Fatalf("Add refused a valid creation %v: %v", b, err)
				}
				r := authz.Request{Principal: b.Entry.Principal, Host: "10.0.0.2", Operation: authz.OpDescribe, Resource: authz.Resource{Type: b.Pattern.Type, Name: b.Pattern.Name}}
				_ = a.Authorize(r)
				_ = a.AuthorizeAny(r.Principal, r.Host, authz.OpWrite, r.Resource.Type)
			}
			_ = authz.CreateResponse(req, errs).AppendTo(nil)
		case 1:
			req := kmsg.NewPtrDescribeACLsRequest()
			req.Version = version
			if req.ReadFrom(body) != nil {
				return
			}
			f, err := authz.FilterFromDescribe(req)
			var acls []authz.ACL
			if err == nil {
				acls = checkFilter(f)
			}
			_ = authz.DescribeResponse(req, acls, err).AppendTo(nil)
		case 2:
			req := kmsg.NewPtrDeleteACLsRequest()
			req.Version = version
			if req.ReadFrom(body) != nil {
				return
			}
			fs, errs := authz.FiltersFromDelete(req)
			matched := make([][]authz.ACL, len(fs))
			for i, f := range fs {
				if errs[i] == nil {
					matched[i] = checkFilter(f)
				}
			}
			for _, m := range matched {
				for _, acl := range m {
					_ = a.Remove(acl.ID) // an earlier filter may have taken it
				}
			}
			_ = authz.DeleteResponse(req, matched, errs).AppendTo(nil)
		}
	})
}
