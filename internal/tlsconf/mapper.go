package tlsconf

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The grammar of ssl.principal.mapping.rules, as Kafka's SslPrincipalMapper
// writes it: DEFAULT, or RULE:pattern/replacement/ with an optional L or U,
// where pattern and replacement may escape "/" with a backslash; anything
// else is kept as a rule to be refused. Java's \s and "." are spelled out
// so that Go's RE2, whose leftmost-first matching picks the same
// submatches as Java's backtracking here, splits and parses the same.
const (
	javaSpace   = `[ \t\n\x0B\f\r]`
	javaDot     = `[^\n\r\x{85}\x{2028}\x{2029}]`
	rulePattern = `(DEFAULT)|RULE:((\\` + javaDot + `|[^\\/])*)/((\\` + javaDot + `|[^\\/])*)/([LU]?)` + javaDot + `*?|(` + javaDot + `*?)`
)

var (
	ruleSplitter = regexp.MustCompile(javaSpace + `*(` + rulePattern + `)` + javaSpace + `*(,` + javaSpace + `*|$)`)
	ruleParser   = regexp.MustCompile(`^(?:` + rulePattern + `)`)
)

// PrincipalMapper is Kafka's SslPrincipalMapper: it maps a distinguished
// name to a principal name with the first rule that matches it. A nil
// *PrincipalMapper maps every name to itself (Kafka's DEFAULT). It is
// immutable and safe for concurrent use.
type PrincipalMapper struct {
	rules []mappingRule
}

type mappingRule struct {
	isDefault   bool
	pattern     string         // as written, in Java's syntax
	whole       *regexp.Regexp // pattern anchored at both ends (Matcher.matches)
	re          *regexp.Regexp // pattern (String.replaceAll)
	replacement string
	toLower     bool
	toUpper     bool
}

// ParsePrincipalMappingRules parses ssl.principal.mapping.rules (KIP-371):
// comma-separated rules, each DEFAULT (the name unchanged) or
// RULE:pattern/replacement/ with an optional L or U suffix to lower- or
// upper-case the result. A rule applies when its pattern matches the
// whole name; the result is then the name with every match of the
// pattern replaced (Java's String.replaceAll, so $1 and ${name} name
// groups and a backslash quotes the next character). Empty rules are
// skipped; "" leaves no rule, so that every name fails to map.
//
// Patterns are Java regular expressions run by Go's RE2 (see
// translateJavaRegex): backreferences, lookaround, atomic groups and
// possessive quantifiers are refused.
func ParsePrincipalMappingRules(s string) (*PrincipalMapper, error) {
	m := &PrincipalMapper{}
	for _, match := range ruleSplitter.FindAllStringSubmatch(strings.TrimFunc(s, isJavaTrimmed), -1) {
		rule := match[1]
		loc := ruleParser.FindStringSubmatchIndex(rule)
		if loc == nil {
			return nil, configErr(PrincipalMappingRules, nil, "invalid rule: %s", rule)
		}
		if loc[1] != len(rule) {
			return nil, configErr(PrincipalMappingRules, nil, "invalid rule: `%s`, unmatched substring: `%s`", rule, rule[loc[1]:])
		}
		group := func(i int) (string, bool) {
			if loc[2*i] < 0 {
				return "", false
			}
			return rule[loc[2*i]:loc[2*i+1]], true
		}
		if _, ok := group(1); ok {
			m.rules = append(m.rules, mappingRule{isDefault: true})
			continue
		}
		pattern, ok := group(2)
		if !ok {
			continue // an empty rule
		}
		replacement, _ := group(4)
		flag, _ := group(6)
		r, err := newMappingRule(pattern, replacement, flag)
		if err != nil {
			return nil, err
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

func newMappingRule(pattern, replacement, flag string) (mappingRule, error) {
	goPattern, err := translateJavaRegex(pattern)
	if err != nil {
		return mappingRule{}, configErr(PrincipalMappingRules, err, "pattern %q", pattern)
	}
	re, err := regexp.Compile(goPattern)
	if err != nil {
		return mappingRule{}, configErr(PrincipalMappingRules, err,
			"pattern %q is not supported by Go's regexp (RE2 has no backreferences, lookaround, atomic groups or possessive quantifiers)", pattern)
	}
	return mappingRule{
		pattern:     pattern,
		re:          re,
		whole:       regexp.MustCompile(`\A(?:` + goPattern + `)\z`),
		replacement: replacement,
		toLower:     flag == "L",
		toUpper:     flag == "U",
	}, nil
}

// isJavaTrimmed is what Java's String.trim removes.
func isJavaTrimmed(r rune) bool { return r <= ' ' }

// NoMatchingRuleError is returned by Name when no rule applies; Kafka
// then fails the connection's authentication.
type NoMatchingRuleError struct {
	DN    string
	Rules string
}

func (e *NoMatchingRuleError) Error() string {
	return "tlsconf: no rules apply to " + e.DN + ", rules " + e.Rules
}

// Name maps a distinguished name (as DistinguishedName prints it) with
// the first rule that applies. It fails when no rule applies, or when a
// replacement names a group the pattern does not have, as Java would.
func (m *PrincipalMapper) Name(dn string) (string, error) {
	if m == nil {
		return dn, nil
	}
	for i := range m.rules {
		name, ok, err := m.rules[i].apply(dn)
		if err != nil {
			return "", err
		}
		if ok {
			return name, nil
		}
	}
	return "", &NoMatchingRuleError{DN: dn, Rules: m.String()}
}

// String lists the rules as Kafka's SslPrincipalMapper.toString does,
// e.g. "[RULE:^CN=(.*?),.*$/$1/L, DEFAULT]".
func (m *PrincipalMapper) String() string {
	if m == nil {
		return "[" + defaultPrincipalMapping + "]"
	}
	parts := make([]string, len(m.rules))
	for i, r := range m.rules {
		if r.isDefault {
			parts[i] = defaultPrincipalMapping
			continue
		}
		s := "RULE:" + r.pattern + "/" + r.replacement
		switch {
		case r.toLower:
			s += "/L"
		case r.toUpper:
			s += "/U"
		}
		parts[i] = s
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (r *mappingRule) apply(dn string) (string, bool, error) {
	if r.isDefault {
		return dn, true, nil
	}
	if !r.whole.MatchString(dn) {
		return "", false, nil
	}
	out, err := javaReplaceAll(r.re, dn, escapeLiteralBackReferences(r.replacement, r.re.NumSubexp()))
	if err != nil {
		return "", false, fmt.Errorf("tlsconf: %s: rule %s/%s: %w", PrincipalMappingRules, r.pattern, r.replacement, err)
	}
	switch {
	case r.toLower:
		out = strings.ToLower(out)
	case r.toUpper:
		out = strings.ToUpper(out)
	}
	return out, true, nil
}

var backReference = regexp.MustCompile(`\$(\d+)`)

// escapeLiteralBackReferences is Kafka's (from Apache NiFi): a $n that
// names no group, after dropping trailing digits while it is 10 or more
// (so $12 with one group is $1 and "2"), is made a literal "$" with a
// backslash. Kafka inserts each backslash at the offset the reference had
// in the original string, which is off by one per earlier insertion; that
// is kept, so that the same replacements give the same names.
func escapeLiteralBackReferences(unescaped string, groups int) string {
	if groups == 0 {
		return unescaped
	}
	value := unescaped
	for _, loc := range backReference.FindAllStringSubmatchIndex(unescaped, -1) {
		digits := unescaped[loc[2]:loc[3]]
		if strings.HasPrefix(digits, "0") {
			continue
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			// Java's Integer.parseInt throws here; leaving the reference
			// for javaReplaceAll to refuse has the same outcome.
			continue
		}
		for n > groups && n >= 10 {
			n /= 10
		}
		if n > groups {
			at := min(loc[2]-1, len(value))
			value = value[:at] + `\` + value[at:]
		}
	}
	return value
}
