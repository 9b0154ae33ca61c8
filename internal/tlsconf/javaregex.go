package tlsconf

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// javaPOSIX maps Java's POSIX character classes (\p{Lower} ...), which
// are ASCII-only as Go's [[:lower:]] classes are.
var javaPOSIX = map[string]string{
	"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha",
	"Digit": "digit", "Alnum": "alnum", "Punct": "punct", "Graph": "graph",
	"Print": "print", "Blank": "blank", "Cntrl": "cntrl", "XDigit": "xdigit",
	"Space": "space",
}

// Java's \h and \v classes (Go's \v is the vertical tab alone).
const (
	javaHorizontalSpace = ` \t\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`
	javaVerticalSpace   = `\n\x0B\f\r\x{85}\x{2028}\x{2029}`
)

// translateJavaRegex rewrites the parts of a java.util.regex pattern
// whose meaning Go's RE2 spells differently, and refuses the ones that
// would compile in Go with another meaning: \p{Lower}-style classes, \h,
// \v, \uXXXX and \e are rewritten; nested classes and class intersection
// ([a-z&&[^e]]) and the (?U) flag (Java: Unicode classes, Go: ungreedy)
// are refused. What RE2 lacks (backreferences, lookaround, possessive
// quantifiers) fails in regexp.Compile.
//
// Two differences are left, as principal names rarely meet them: Java's
// "." and "$" also stop at \r and the other line terminators, and
// String.replaceAll also replaces an empty match right after a match.
func translateJavaRegex(p string) (string, error) {
	var b strings.Builder
	inClass := false
	classStart := 0 // index in p just after the class's '[' (and '^')
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return "", errors.New("trailing backslash")
			}
			n, err := translateEscape(&b, p, i, inClass)
			if err != nil {
				return "", err
			}
			i += n - 1
		case inClass && c == '[':
			return "", errors.New("nested character classes are not supported")
		case inClass && c == '&' && i+1 < len(p) && p[i+1] == '&':
			return "", errors.New("character class intersection (&&) is not supported")
		case inClass && c == ']' && i > classStart:
			inClass = false
			b.WriteByte(c)
		case !inClass && c == '[':
			inClass = true
			b.WriteByte(c)
			classStart = i + 1
			if classStart < len(p) && p[classStart] == '^' {
				b.WriteByte('^')
				i++
				classStart++
			}
		case !inClass && c == '(' && strings.HasPrefix(p[i:], "(?"):
			if err := checkJavaFlags(p[i+2:]); err != nil {
				return "", err
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// translateEscape writes the translation of the escape at p[i] ('\') and
// returns how many bytes of p it used.
func translateEscape(b *strings.Builder, p string, i int, inClass bool) (int, error) {
	c := p[i+1]
	switch c {
	case 'Q':
		end := strings.Index(p[i+2:], `\E`)
		if end < 0 {
			b.WriteString(p[i:])
			return len(p) - i, nil
		}
		b.WriteString(p[i : i+2+end+2])
		return 2 + end + 2, nil
	case 'p', 'P':
		if i+2 < len(p) && p[i+2] == '{' {
			end := strings.IndexByte(p[i+2:], '}')
			if end < 0 {
				return 0, errors.New("unterminated \\p{")
			}
			name := p[i+3 : i+2+end]
			n := 3 + end
			if posix, ok := javaPOSIX[name]; ok {
				switch {
				case c == 'p' && inClass:
					b.WriteString("[:" + posix + ":]")
				case c == 'P' && inClass:
					b.WriteString("[:^" + posix + ":]")
				case c == 'p':
					b.WriteString("[[:" + posix + ":]]")
				default:
					b.WriteString("[^[:" + posix + ":]]")
				}
				return n, nil
			}
			// Java's "Is"/"In" prefixes for scripts and categories.
			if rest, ok := strings.CutPrefix(name, "Is"); ok && len(rest) > 0 {
				name = rest
			}
			b.WriteString(`\` + string(c) + "{" + name + "}")
			return n, nil
		}
	case 'h', 'H', 'v', 'V':
		body := javaHorizontalSpace
		if c == 'v' || c == 'V' {
			body = javaVerticalSpace
		}
		negated := c == 'H' || c == 'V'
		switch {
		case negated && inClass:
			return 0, fmt.Errorf("\\%c inside a character class is not supported", c)
		case inClass:
			b.WriteString(body)
		case negated:
			b.WriteString("[^" + body + "]")
		default:
			b.WriteString("[" + body + "]")
		}
		return 2, nil
	case 'u':
		if i+6 <= len(p) && isHex(p[i+2:i+6]) {
			b.WriteString(`\x{` + p[i+2:i+6] + "}")
			return 6, nil
		}
	case 'e':
		b.WriteString(`\x1B`)
		return 2, nil
	case 'Z', 'G', 'R', 'X', 'k':
		return 0, fmt.Errorf("\\%c is not supported", c)
	}
	b.WriteString(p[i : i+2])
	return 2, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

var javaFlagGroup = regexp.MustCompile(`^([a-zA-Z]*)(-[a-zA-Z]*)?[:)]`)

// checkJavaFlags refuses inline flags whose letters Go reads otherwise
// or not at all. s follows "(?".
func checkJavaFlags(s string) error {
	m := javaFlagGroup.FindStringSubmatch(s)
	if m == nil {
		return nil // a group such as (?<name>...) or (?=...)
	}
	for _, f := range m[1] + m[2] {
		switch f {
		case 'i', 'm', 's', '-':
		default:
			return fmt.Errorf("inline flag %q is not supported", f)
		}
	}
	return nil
}

// javaReplaceAll is Java's String.replaceAll(regex, replacement): every
// match is replaced, and in the replacement "\" quotes the next character,
// $n names a group (taking more digits while they still name a group) and
// ${name} a named group; a group that did not take part adds nothing.
func javaReplaceAll(re *regexp.Regexp, s, replacement string) (string, error) {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		if err := appendJavaReplacement(&b, re, s, m, replacement); err != nil {
			return "", err
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func appendJavaReplacement(b *strings.Builder, re *regexp.Regexp, s string, m []int, r string) error {
	groups := re.NumSubexp()
	group := func(n int) {
		if m[2*n] >= 0 {
			b.WriteString(s[m[2*n]:m[2*n+1]])
		}
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch c {
		case '\\':
			i++
			if i >= len(r) {
				return errors.New("character to be escaped is missing")
			}
			b.WriteByte(r[i])
		case '$':
			i++
			if i >= len(r) {
				return errors.New("illegal group reference: group index is missing")
			}
			if r[i] == '{' {
				end := strings.IndexByte(r[i:], '}')
				if end < 0 {
					return errors.New("named capturing group is missing trailing '}'")
				}
				name := r[i+1 : i+end]
				n := re.SubexpIndex(name)
				if n < 0 {
					return fmt.Errorf("no group with name {%s}", name)
				}
				group(n)
				i += end
				continue
			}
			if r[i] < '0' || r[i] > '9' {
				return errors.New("illegal group reference")
			}
			n := int(r[i] - '0')
			for i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9' {
				next := n*10 + int(r[i+1]-'0')
				if next > groups {
					break
				}
				n = next
				i++
			}
			if n > groups {
				return fmt.Errorf("no group %d", n)
			}
			group(n)
		default:
			b.WriteByte(c)
		}
	}
	return nil
}
