package authz

import (
	"fmt"
	"testing"
)

// benchAuthorizer holds 10,000 ACLs: 5,000 literal topic ACLs, 3,000
// prefixed topic ACLs and 2,000 group ACLs, over 100 principals.
func benchAuthorizer(b *testing.B, cacheSize int) *Authorizer {
	a, err := New(Config{CacheSize: cacheSize, SuperUsers: []string{"User:admin"}})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	add := func(bd Binding) {
		n++
		if err := a.Add(idOf(n), bd); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 5000 {
		add(allow(lit(ResourceTopic, fmt.Sprintf("topic-%d", i)), fmt.Sprintf("User:u%d", i%100), "*", OpWrite))
	}
	for i := range 3000 {
		add(allow(pre(ResourceTopic, fmt.Sprintf("pfx-%d.", i)), fmt.Sprintf("User:u%d", i%100), "*", OpWrite))
	}
	for i := range 2000 {
		add(allow(lit(ResourceGroup, fmt.Sprintf("group-%d", i)), fmt.Sprintf("User:u%d", i%100), "*", OpRead))
	}
	return a
}

// BenchmarkAuthorize: go test -run '^$' -bench Authorize -benchmem ./netserver/authz/
func BenchmarkAuthorize(b *testing.B) {
	cases := []struct {
		name    string
		req     Request
		allowed bool
	}{
		{"allowed-literal", req("User:u42", h1, OpWrite, ResourceTopic, "topic-4242"), true},
		{"denied", req("User:u41", h1, OpWrite, ResourceTopic, "topic-4242"), false},
		{"allowed-prefixed", req("User:u34", h1, OpWrite, ResourceTopic, "pfx-1234.events"), true},
		{"denied-no-acl", req("User:u1", h1, OpWrite, ResourceTopic, "other"), false},
	}
	for _, cache := range []struct {
		name string
		size int
	}{{"cached", 0}, {"uncached", -1}} {
		for _, c := range cases {
			b.Run(cache.name+"/"+c.name, func(b *testing.B) {
				a := benchAuthorizer(b, cache.size)
				a.Authorize(c.req) // build the index
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if a.Authorize(c.req).Allowed != c.allowed {
						b.Fatal("wrong decision")
					}
				}
			})
		}
	}
	b.Run("cached/allowed-literal-parallel", func(b *testing.B) {
		a := benchAuthorizer(b, 0)
		r := cases[0].req
		a.Authorize(r)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !a.Authorize(r).Allowed {
					b.Fatal("denied")
				}
			}
		})
	})
	b.Run("super-user", func(b *testing.B) {
		a := benchAuthorizer(b, 0)
		r := req("User:admin", h1, OpWrite, ResourceTopic, "topic-1")
		b.ReportAllocs()
		for b.Loop() {
			a.Authorize(r)
		}
	})
	b.Run("rebuild-10k", func(b *testing.B) {
		a := benchAuthorizer(b, 0)
		r := cases[0].req
		b.ReportAllocs()
		for b.Loop() {
			a.generation.Add(1) // as an Add would
			a.Authorize(r)
		}
	})
}
