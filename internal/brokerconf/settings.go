package brokerconf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Source is where a value came from; a higher source wins.
type Source int

const (
	FromDefault Source = iota
	FromFile
	FromEnv
	FromFlag
)

func (s Source) String() string {
	return [...]string{"default", "file", "env", "--set"}[s]
}

// Setting is one key's value and where it came from.
type Setting struct {
	Name   string
	Value  string
	Source Source
	// Origin says where exactly (file:line, variable name), for errors.
	Origin string
	// verbatim marks a directory given as one path (rill serve
	// --data-dir), which a comma does not split.
	verbatim bool
}

// Settings are a broker's configured values, checked against the table.
// The zero value is not usable; use NewSettings.
type Settings struct {
	set map[string]Setting
}

// NewSettings returns empty settings (every key at its default).
func NewSettings() *Settings { return &Settings{set: map[string]Setting{}} }

// Set records name=value from src. It refuses an unknown name (with a
// suggestion) and a value its key's type or range refuses; origin
// prefixes the error. A value from a lower source than the one held is
// dropped: sources may be applied in any order.
func (s *Settings) Set(name, value string, src Source, origin string) error {
	name = strings.TrimSpace(name)
	k, ok := Lookup(name)
	if !ok {
		msg := fmt.Sprintf("unknown broker config %q", name)
		if sug := Suggest(name); sug != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", sug)
		}
		return originErr(origin, errors.New(msg))
	}
	v, err := k.Check(value)
	if err != nil {
		return originErr(origin, fmt.Errorf("%s: %w", name, err))
	}
	if old, ok := s.set[name]; ok && old.Source > src {
		return nil
	}
	s.set[name] = Setting{Name: name, Value: v, Source: src, Origin: origin}
	return nil
}

func originErr(origin string, err error) error {
	if origin == "" {
		return err
	}
	return fmt.Errorf("%s: %w", origin, err)
}

// SetDataDir records log.dirs as one directory given verbatim (a flag
// naming a path): a comma in it is part of the name, not a list.
func (s *Settings) SetDataDir(dir string, src Source, origin string) error {
	if err := s.Set("log.dirs", dir, src, origin); err != nil {
		return err
	}
	if v := s.set["log.dirs"]; v.Source == src {
		v.verbatim, v.Value = true, dir
		s.set["log.dirs"] = v
	}
	return nil
}

// Resolve applies the rules between keys once every source is read:
// broker.id stands for an unset node.id and must agree with a set one;
// controller.quorum.bootstrap.servers needs controller.quorum.voters;
// log.dirs names one directory (JBOD is not supported).
func (s *Settings) Resolve() error {
	var errs []error
	if b, ok := s.set["broker.id"]; ok {
		if n, ok := s.set["node.id"]; !ok {
			s.set["node.id"] = Setting{Name: "node.id", Value: b.Value, Source: b.Source, Origin: b.Origin}
		} else if n.Value != b.Value {
			errs = append(errs, fmt.Errorf("broker.id=%s and node.id=%s differ: set one (broker.id is Kafka's older name for node.id)", b.Value, n.Value))
		}
	}
	// Ignoring a dynamic quorum's bootstrap servers would leave the node a
	// cluster of one, holding data the real cluster does not know.
	if b, ok := s.set["controller.quorum.bootstrap.servers"]; ok && b.Value != "" {
		if _, voters := s.set["controller.quorum.voters"]; !voters {
			errs = append(errs, fmt.Errorf("controller.quorum.bootstrap.servers=%s: the dynamic controller quorum (KIP-853) is not supported: set controller.quorum.voters", b.Value))
		}
	}
	for _, name := range []string{"log.dirs", "log.dir"} {
		if d, ok := s.set[name]; ok && !d.verbatim {
			dirs := SplitList(d.Value)
			switch {
			case len(dirs) > 1:
				errs = append(errs, fmt.Errorf("%s=%s: JBOD is not supported yet: set one directory", name, d.Value))
			case len(dirs) == 0:
				errs = append(errs, fmt.Errorf("%s is empty: set a directory", name))
			default:
				d.Value = dirs[0]
				s.set[name] = d
			}
		}
	}
	return errors.Join(errs...)
}

// Get returns name's value: the set one, else its key's default. ok is
// false when it is neither set nor has a default.
func (s *Settings) Get(name string) (string, bool) {
	if v, ok := s.set[name]; ok {
		return v.Value, true
	}
	if k, ok := byName[name]; ok && !k.NoDefault {
		return k.Default, true
	}
	return "", false
}

// Props are the values set (not defaults), by name: what the readers of
// Kafka's key names (listeners, TLS, SASL) take.
func (s *Settings) Props() map[string]string {
	out := make(map[string]string, len(s.set))
	for k, v := range s.set {
		out[k] = v.Value
	}
	return out
}

// Lookup returns the setting of name, if set.
func (s *Settings) Lookup(name string) (Setting, bool) {
	v, ok := s.set[name]
	return v, ok
}

// Effective lists every table key (its value, or its default) and every
// pattern key set, sorted by name.
func (s *Settings) Effective() []Setting {
	var out []Setting
	for _, k := range Keys {
		if v, ok := s.set[k.Name]; ok {
			out = append(out, v)
			continue
		}
		st := Setting{Name: k.Name, Value: k.Default, Source: FromDefault}
		if k.NoDefault {
			st.Value = ""
		}
		out = append(out, st)
	}
	for name, v := range s.set {
		if _, ok := byName[name]; !ok {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Warnings is one line per Ignored key set.
func (s *Settings) Warnings() []string {
	var out []string
	for name, v := range s.set {
		if k, _ := Lookup(name); k.Status == Ignored {
			out = append(out, fmt.Sprintf("config %s=%s (%s) is accepted for Kafka compatibility but not implemented by Rill: ignored", name, display(k, v.Value), v.Source))
		}
	}
	sort.Strings(out)
	return out
}

// Display renders a value for output: passwords are hidden.
func Display(name, value string) string {
	k, _ := Lookup(name)
	return display(k, value)
}

func display(k Key, v string) string {
	if k.Sensitive() && v != "" {
		return "[hidden]"
	}
	return v
}
