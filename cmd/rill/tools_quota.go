package main

// rill quota: client quotas as kafka-configs.sh sets and shows them, over
// AlterClientQuotas and DescribeClientQuotas (kadm):
//
//	rill quota alter    --entity-type users --entity-name alice [--entity-type clients --entity-default]
//	                    --add-config producer_byte_rate=1048576,consumer_byte_rate=2097152 [--delete-config request_percentage]
//	rill quota describe [--entity-type users [--entity-name alice | --entity-default]]... [--all]
//
// Each --entity-type (users, clients, ips) pairs with the --entity-name or
// --entity-default that follows it, in order, as kafka-configs.sh pairs
// them; --user NAME, --user-defaults, --client NAME, --client-defaults,
// --ip ADDRESS and --ip-defaults are the short forms. describe with a
// type and no name lists every name of that type (the default
// included); it lists the entities with exactly the types given, as
// kafka-configs.sh does, and with --all those that have other types too
// (no type and --all: every quota). Keys: producer_byte_rate,
// consumer_byte_rate (bytes/s per broker), request_percentage (percent of
// one request handler, per broker), controller_mutation_rate
// (partitions created or deleted per second) for users and clients;
// connection_creation_rate for ips (kept, not enforced by Rill).

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// quotaEntityFlags collect --entity-type, --entity-name and
// --entity-default (and the short forms) in the order given.
type quotaEntityFlags struct {
	types []string
	names []*string // nil: the default
	err   error
}

// quotaEntityTypes maps kafka-configs.sh's entity types to the protocol's.
var quotaEntityTypes = map[string]string{"users": "user", "user": "user", "clients": "client-id", "client": "client-id",
	"client-id": "client-id", "ips": "ip", "ip": "ip"}

type entityTypeFlag struct{ f *quotaEntityFlags }

func (e entityTypeFlag) String() string { return "" }
func (e entityTypeFlag) Type() string   { return "type" }
func (e entityTypeFlag) Set(v string) error {
	t, ok := quotaEntityTypes[v]
	if !ok {
		return fmt.Errorf("entity type %q: want users, clients or ips", v)
	}
	e.f.types = append(e.f.types, t)
	return nil
}

type entityNameFlag struct{ f *quotaEntityFlags }

func (e entityNameFlag) String() string { return "" }
func (e entityNameFlag) Type() string   { return "name" }
func (e entityNameFlag) Set(v string) error {
	if v == "" {
		return errors.New("an empty entity name: use --entity-default")
	}
	e.f.names = append(e.f.names, &v)
	return nil
}

type entityDefaultFlag struct{ f *quotaEntityFlags }

func (e entityDefaultFlag) String() string   { return "" }
func (e entityDefaultFlag) Type() string     { return "" }
func (e entityDefaultFlag) IsBoolFlag() bool { return true }
func (e entityDefaultFlag) Set(v string) error {
	if v != "true" {
		return fmt.Errorf("--entity-default takes no value, got %q", v)
	}
	e.f.names = append(e.f.names, nil)
	return nil
}

// shortFlag is --user NAME (typ, named) or --user-defaults (typ, default).
type shortFlag struct {
	f          *quotaEntityFlags
	typ        string
	isDefaults bool
}

func (s shortFlag) String() string { return "" }
func (s shortFlag) Type() string {
	if s.isDefaults {
		return ""
	}
	return "name"
}
func (s shortFlag) IsBoolFlag() bool { return s.isDefaults }
func (s shortFlag) Set(v string) error {
	s.f.types = append(s.f.types, s.typ)
	if s.isDefaults {
		s.f.names = append(s.f.names, nil)
		return nil
	}
	if v == "" {
		return fmt.Errorf("an empty %s name: use --%s-defaults", s.typ, strings.TrimSuffix(s.typ, "-id"))
	}
	s.f.names = append(s.f.names, &v)
	return nil
}

func (q *quotaEntityFlags) register(fs *pflag.FlagSet) {
	fs.Var(entityTypeFlag{q}, "entity-type", "users, clients or ips (repeatable; each pairs with the --entity-name or --entity-default after it)")
	fs.Var(entityNameFlag{q}, "entity-name", "the name of the --entity-type before it")
	fs.Var(entityDefaultFlag{q}, "entity-default", "the default of the --entity-type before it")
	boolValueFlag(fs, "entity-default")
	for _, s := range []struct{ name, typ, what string }{{"user", "user", "user principal name"}, {"client", "client-id", "client id"}, {"ip", "ip", "client IP address"}} {
		fs.Var(shortFlag{f: q, typ: s.typ}, s.name, "short for --entity-type "+s.name+"s --entity-name NAME: a "+s.what)
		fs.Var(shortFlag{f: q, typ: s.typ, isDefaults: true}, s.name+"-defaults", "short for --entity-type "+s.name+"s --entity-default")
		boolValueFlag(fs, s.name+"-defaults")
	}
}

// entity pairs the types with the names; a type without a name is
// unnamed (any name, for describe).
func (q *quotaEntityFlags) components() ([]string, []*string, []bool, error) {
	if len(q.names) > len(q.types) {
		return nil, nil, nil, usageErrorf("--entity-name or --entity-default without an --entity-type before it")
	}
	seen := map[string]bool{}
	named := make([]bool, len(q.types))
	names := make([]*string, len(q.types))
	for i, t := range q.types {
		if seen[t] {
			return nil, nil, nil, usageErrorf("entity type %s named twice", t)
		}
		seen[t] = true
		if i < len(q.names) {
			named[i], names[i] = true, q.names[i]
		}
	}
	return q.types, names, named, nil
}

// newQuotaCmd: rill quota alter|describe; the file comment has the flags.
func newQuotaCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "quota", Short: "alter or describe client quotas (kafka-configs.sh --entity-type users|clients|ips)"})
	c.AddCommand(
		quotaSubCmd("alter", "alter ENTITY... [--add-config K=V,...] [--delete-config K,...]", "set or remove client quotas", noArgs),
		quotaSubCmd("describe", "describe [ENTITY...] [--all]", "show client quotas", noArgs),
	)
	return c
}

func quotaSubCmd(sub, use, short string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	var entities quotaEntityFlags
	entities.register(fs)
	add := fs.String("add-config", "", "alter: quotas to set, key=value,... (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate; connection_creation_rate for ips)")
	del := fs.String("delete-config", "", "alter: quota keys to remove, key,...")
	validate := fs.Bool("validate-only", false, "alter: have the controller check the change without making it")
	all := fs.Bool("all", false, "describe: also entities with types other than those given (every quota when none is)")
	var out outputFlag
	if sub == "describe" {
		out.register(c)
	}
	scopeFlags(c, sub, map[string]string{"add-config": "alter", "delete-config": "alter", "validate-only": "alter", "all": "describe"})
	c.RunE = func(c *cobra.Command, args []string) error {
		w := c.OutOrStdout()
		types, names, named, err := entities.components()
		if err != nil {
			return fmt.Errorf("quota %s: %w", sub, err)
		}
		switch sub {
		case "alter":
			if len(types) == 0 {
				return usageErrorf("quota alter: name an entity (--entity-type with --entity-name or --entity-default, or --user, --client, --ip)")
			}
			var entity kadm.ClientQuotaEntity
			for i, t := range types {
				if !named[i] {
					return usageErrorf("quota alter: --entity-type %s needs --entity-name or --entity-default", t)
				}
				entity = append(entity, kadm.ClientQuotaEntityComponent{Type: t, Name: names[i]})
			}
			ops, err := quotaOps(*add, *del)
			if err != nil {
				return fmt.Errorf("quota alter: %w", err)
			}
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			alter := adm.AlterClientQuotas
			if *validate {
				alter = adm.ValidateAlterClientQuotas
			}
			res, err := alter(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: ops}})
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Err != nil {
					msg := r.ErrMessage
					if msg == "" {
						msg = r.Err.Error()
					}
					return fmt.Errorf("quota alter %s: %s (%v)", describeQuotaEntity(r.Entity), msg, r.Err)
				}
			}
			verb := "Completed updating"
			if *validate {
				verb = "Validated"
			}
			fmt.Fprintf(w, "%s quotas for %s.\n", verb, describeQuotaEntity(entity))
			return nil
		case "describe":
			if *add != "" || *del != "" || *validate {
				return usageErrorf("quota describe: --add-config, --delete-config and --validate-only are for alter")
			}
			var comps []kadm.DescribeClientQuotaComponent
			for i, t := range types {
				c := kadm.DescribeClientQuotaComponent{Type: t, MatchType: kmsg.QuotasMatchTypeAny}
				switch {
				case named[i] && names[i] == nil:
					c.MatchType = kmsg.QuotasMatchTypeDefault
				case named[i]:
					c.MatchType, c.MatchName = kmsg.QuotasMatchTypeExact, names[i]
				}
				comps = append(comps, c)
			}
			if len(comps) == 0 && !*all {
				return usageErrorf("quota describe: name an entity type (--entity-type, --user, --client, --ip), or --all for every quota")
			}
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			described, err := adm.DescribeClientQuotas(ctx, !*all, comps)
			if err != nil {
				return err
			}
			if out.json() {
				return writeQuotas(w, described)
			}
			for _, q := range described {
				var values []string
				for _, v := range q.Values {
					values = append(values, v.Key+"="+javaDouble(v.Value))
				}
				fmt.Fprintf(w, "Quota configs for %s are %s\n", describeQuotaEntity(q.Entity), strings.Join(values, ", "))
			}
			return nil
		}
		panic("quota: no subcommand " + sub) // only the subcommands above are registered
	}
	return c
}

// quotaOps parses --add-config and --delete-config.
func quotaOps(add, del string) ([]kadm.AlterClientQuotaOp, error) {
	var ops []kadm.AlterClientQuotaOp
	for _, kv := range strings.Split(add, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageErrorf("--add-config %q: want key=value", kv)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, usageErrorf("--add-config %s: %q is not a number", k, v)
		}
		ops = append(ops, kadm.AlterClientQuotaOp{Key: strings.TrimSpace(k), Value: f})
	}
	for _, k := range strings.Split(del, ",") {
		if k = strings.TrimSpace(k); k != "" {
			ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
		}
	}
	if len(ops) == 0 {
		return nil, usageErrorf("nothing to change: give --add-config or --delete-config")
	}
	return ops, nil
}

// describeQuotaEntity names an entity as kafka-configs.sh does
// ("user-principal 'alice', the default client-id").
func describeQuotaEntity(e kadm.ClientQuotaEntity) string {
	labels := map[string][2]string{"user": {"user-principal", "the default user"}, "client-id": {"client-id", "the default client-id"},
		"ip": {"ip", "the default ip"}}
	var parts []string
	for _, c := range e {
		l, ok := labels[c.Type]
		if !ok {
			l = [2]string{c.Type, "the default " + c.Type}
		}
		if c.Name == nil {
			parts = append(parts, l[1])
		} else {
			parts = append(parts, fmt.Sprintf("%s '%s'", l[0], *c.Name))
		}
	}
	return strings.Join(parts, ", ")
}

// javaDouble prints a value as Java's Double.toString does for the
// values quotas take: 1024.0, 12.5.
func javaDouble(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// quotaJSON is one entity of `quota describe --format json`; a nil name
// is the type's default.
type quotaJSON struct {
	Entity []quotaComponentJSON `json:"entity"`
	Values map[string]float64   `json:"values"`
}

type quotaComponentJSON struct {
	Type string  `json:"type"`
	Name *string `json:"name"`
}

func writeQuotas(w io.Writer, described []kadm.DescribedClientQuota) error {
	list := []quotaJSON{}
	for _, q := range described {
		e := quotaJSON{Values: map[string]float64{}}
		for _, c := range q.Entity {
			e.Entity = append(e.Entity, quotaComponentJSON{c.Type, c.Name})
		}
		for _, v := range q.Values {
			e.Values[v.Key] = v.Value
		}
		list = append(list, e)
	}
	return writeJSON(w, list)
}
