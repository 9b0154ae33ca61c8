package main

// The broker's authorizer, from Kafka's settings:
//
//	authorizer.class.name             org.apache.kafka.metadata.authorizer.StandardAuthorizer
//	                                  (kafka.security.authorizer.AclAuthorizer, ZooKeeper Kafka's,
//	                                  is read as the same); empty: no authorizer
//	super.users                       User:admin;User:ops
//	allow.everyone.if.no.acl.found    false
//
// Its ACLs are the metadata log's: the broker runtime feeds them to it
// (handler.Broker.AddACL/RemoveACL as its ACLSink) before the broker
// serves.

import (
	"fmt"
	"strings"

	"github.com/rillmq/rill/netserver/authz"
)

// Kafka's authorizer class names Rill serves.
const (
	standardAuthorizer = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	aclAuthorizer      = "kafka.security.authorizer.AclAuthorizer"
)

// authorizerFromConfig builds the authorizer authorizer.class.name names
// (nil, nil: none) with super.users and allow.everyone.if.no.acl.found.
func authorizerFromConfig(get func(key, def string) string) (*authz.Authorizer, error) {
	switch class := strings.TrimSpace(get("authorizer.class.name", "")); class {
	case "":
		return nil, nil
	case standardAuthorizer, aclAuthorizer:
	default:
		return nil, fmt.Errorf("authorizer.class.name %q: Rill's authorizer is %s (ACLs in the metadata log)", class, standardAuthorizer)
	}
	supers, err := authz.ParseSuperUsers(get("super.users", ""))
	if err != nil {
		return nil, err
	}
	cfg := authz.Config{SuperUsers: supers}
	switch v := strings.TrimSpace(get("allow.everyone.if.no.acl.found", "false")); v {
	case "true":
		cfg.AllowIfNoACL = true
	case "false":
	default:
		return nil, fmt.Errorf("allow.everyone.if.no.acl.found: %q is not true or false", v)
	}
	return authz.New(cfg)
}
