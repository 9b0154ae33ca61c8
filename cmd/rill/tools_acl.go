package main

// rill acl: Kafka's kafka-acls.sh over CreateAcls, DescribeAcls and
// DeleteAcls (kadm), with its flags:
//
//	rill acl create --allow-principal User:alice --operation Read --topic orders [--resource-pattern-type prefixed]
//	rill acl list   [--topic orders] [--principal User:alice] [--resource-pattern-type match]
//	rill acl delete --allow-principal User:alice --operation Read --topic orders
//
// Resources are --topic, --group, --transactional-id (repeatable) and
// --cluster; principals --allow-principal and --deny-principal
// (repeatable, "User:" added when no type is given), with --allow-host and
// --deny-host (default "*" when creating, any when filtering). list and
// delete with no resource select every resource (and every pattern type);
// with no principal, every principal; with no --operation, every
// operation. The broker needs an authorizer (authorizer.class.name).

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newACLCmd: rill acl create|list|delete; the file comment has the flags.
func newACLCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "acl", Short: "create, list or delete ACLs (kafka-acls.sh)"})
	c.AddCommand(
		aclSubCmd("create", "create --allow-principal P|--deny-principal P --operation OP RESOURCE...", "create ACLs", noArgs),
		aclSubCmd("list", "list [RESOURCE...] [--principal P]", "list ACLs", noArgs),
		aclSubCmd("delete", "delete [RESOURCE...] [--principal P] [--operation OP]", "delete the ACLs matching the filter", noArgs),
	)
	return c
}

func aclSubCmd(sub, use, short string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	var allow, deny, principals, allowHosts, denyHosts, ops, topics, groups, txnIDs []string
	fs.StringArrayVar(&allow, "allow-principal", nil, "principal to allow, Type:name (repeatable)")
	fs.StringArrayVar(&deny, "deny-principal", nil, "principal to deny, Type:name (repeatable)")
	fs.StringArrayVar(&principals, "principal", nil, "list/delete: principal, allowed or denied (repeatable)")
	fs.StringArrayVar(&allowHosts, "allow-host", nil, "host allowed principals connect from (repeatable; default *)")
	fs.StringArrayVar(&denyHosts, "deny-host", nil, "host denied principals connect from (repeatable; default *)")
	fs.StringArrayVar(&ops, "operation", nil, "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)")
	fs.StringArrayVar(&topics, "topic", nil, "topic name, or * (repeatable)")
	fs.StringArrayVar(&groups, "group", nil, "consumer group id, or * (repeatable)")
	fs.StringArrayVar(&txnIDs, "transactional-id", nil, "transactional id, or * (repeatable)")
	cluster := fs.Bool("cluster", false, "the cluster resource")
	patternFlag := fs.String("resource-pattern-type", "", "literal or prefixed (create, default literal); also match or any (list, delete)")
	var out outputFlag
	if sub == "list" {
		out.register(c)
	}
	scopeFlags(c, sub, map[string]string{"principal": "list,delete"})
	c.RunE = func(c *cobra.Command, args []string) error {
		w := c.OutOrStdout()
		var operations []kadm.ACLOperation
		for _, o := range ops {
			op, err := kmsg.ParseACLOperation(o)
			if err != nil {
				return fmt.Errorf("--operation %q: %w", o, err)
			}
			operations = append(operations, op)
		}
		pattern := kadm.ACLPatternLiteral
		if *patternFlag != "" {
			p, err := kmsg.ParseACLResourcePatternType(*patternFlag)
			if err != nil {
				return fmt.Errorf("--resource-pattern-type %q: %w", *patternFlag, err)
			}
			pattern = p
		}
		withType := func(ps []string) []string {
			out := make([]string, len(ps))
			for i, p := range ps {
				if !strings.Contains(p, ":") {
					p = "User:" + p
				}
				out[i] = p
			}
			return out
		}
		allow, deny, principals = withType(allow), withType(deny), withType(principals)
		hasResource := len(topics)+len(groups)+len(txnIDs) > 0 || *cluster
		b := kadm.NewACLs().MaybeTopics(topics...).MaybeGroups(groups...).MaybeTransactionalIDs(txnIDs...).MaybeClusters(*cluster).
			ResourcePatternType(pattern)
		adm, ctx, done, err := tf.admin(c.Context())
		if err != nil {
			return err
		}
		defer done()
		switch sub {
		case "create":
			switch {
			case !hasResource:
				return usageErrorf("acl create: name a resource (--topic, --group, --transactional-id or --cluster)")
			case len(allow)+len(deny) == 0:
				return usageErrorf("acl create: name a principal (--allow-principal or --deny-principal)")
			case len(operations) == 0:
				return usageErrorf("acl create: name an operation (--operation)")
			case len(principals) > 0:
				return usageErrorf("acl create: --principal filters list and delete; create with --allow-principal or --deny-principal")
			}
			b.MaybeAllow(allow...).MaybeAllowHosts(allowHosts...).MaybeDeny(deny...).MaybeDenyHosts(denyHosts...).Operations(operations...)
			res, err := adm.CreateACLs(ctx, b)
			if err != nil {
				return err
			}
			var failed []string
			for _, r := range res {
				entry := aclEntry(r.Principal, r.Host, r.Operation, r.Permission)
				if r.Err != nil {
					failed = append(failed, fmt.Sprintf("%s on %s: %v %s", entry, aclResource(r.Type, r.Name, r.Pattern), r.Err, r.ErrMessage))
					continue
				}
				fmt.Fprintf(w, "created %s on %s\n", entry, aclResource(r.Type, r.Name, r.Pattern))
			}
			if len(failed) > 0 {
				return fmt.Errorf("acl create: %s", strings.Join(failed, "; "))
			}
		case "list", "delete":
			if !hasResource {
				b.AnyResource().ResourcePatternType(kadm.ACLPatternAny)
			}
			allow, deny = append(allow, principals...), append(deny, principals...)
			if len(allow)+len(deny) == 0 {
				b.Allow().AllowHosts().Deny().DenyHosts() // anyone, anywhere
			} else {
				if len(allow) > 0 {
					b.MaybeAllow(allow...).AllowHosts(allowHosts...)
				}
				if len(deny) > 0 {
					b.MaybeDeny(deny...).DenyHosts(denyHosts...)
				}
			}
			b.Operations(operations...) // none: any
			if sub == "list" {
				return listACLs(ctx, w, adm, b, out.json())
			}
			res, err := adm.DeleteACLs(ctx, b)
			if err != nil {
				return err
			}
			n := 0
			for _, r := range res {
				if r.Err != nil {
					return fmt.Errorf("acl delete: %v %s", r.Err, r.ErrMessage)
				}
				for _, d := range r.Deleted {
					if d.Err != nil {
						return fmt.Errorf("acl delete: %v %s", d.Err, d.ErrMessage)
					}
					n++
					fmt.Fprintf(w, "deleted %s on %s\n", aclEntry(d.Principal, d.Host, d.Operation, d.Permission), aclResource(d.Type, d.Name, d.Pattern))
				}
			}
			if n == 0 {
				fmt.Fprintln(w, "no ACL matched")
			}
		default:
			panic("acl: no subcommand " + sub) // only the subcommands above are registered
		}
		return nil
	}
	return c
}

// listACLs prints the ACLs b matches, grouped by resource pattern as
// kafka-acls.sh prints them.
func listACLs(ctx context.Context, w io.Writer, adm *kadm.Client, b *kadm.ACLBuilder, asJSON bool) error {
	res, err := adm.DescribeACLs(ctx, b)
	if err != nil {
		return err
	}
	if asJSON {
		return writeACLs(w, res)
	}
	byResource := map[string]map[string]bool{}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("acl list: %v %s", r.Err, r.ErrMessage)
		}
		for _, d := range r.Described {
			res := aclResource(d.Type, d.Name, d.Pattern)
			if byResource[res] == nil {
				byResource[res] = map[string]bool{}
			}
			byResource[res][aclEntry(d.Principal, d.Host, d.Operation, d.Permission)] = true
		}
	}
	for _, res := range slices.Sorted(maps.Keys(byResource)) {
		fmt.Fprintf(w, "Current ACLs for resource `%s`:\n", res)
		for _, e := range slices.Sorted(maps.Keys(byResource[res])) {
			fmt.Fprintf(w, "\t%s\n", e)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// aclResource and aclEntry print a resource pattern and an entry as
// Kafka's ResourcePattern and AccessControlEntry print.
func aclResource(typ kmsg.ACLResourceType, name string, pattern kadm.ACLPattern) string {
	return fmt.Sprintf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", typ, name, pattern)
}

func aclEntry(principal, host string, op kadm.ACLOperation, perm kmsg.ACLPermissionType) string {
	return fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s)", principal, host, op, perm)
}

// aclJSON is one ACL of `acl list --format json`.
type aclJSON struct {
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	PatternType  string `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}

func writeACLs(w io.Writer, res kadm.DescribeACLsResults) error {
	list := []aclJSON{}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("acl list: %v %s", r.Err, r.ErrMessage)
		}
		for _, d := range r.Described {
			list = append(list, aclJSON{d.Type.String(), d.Name, d.Pattern.String(), d.Principal, d.Host, d.Operation.String(), d.Permission.String()})
		}
	}
	slices.SortFunc(list, func(a, b aclJSON) int {
		return strings.Compare(a.ResourceType+"\x00"+a.Name+"\x00"+a.Principal+"\x00"+a.Operation, b.ResourceType+"\x00"+b.Name+"\x00"+b.Principal+"\x00"+b.Operation)
	})
	return writeJSON(w, list)
}
