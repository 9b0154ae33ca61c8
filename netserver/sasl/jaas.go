package sasl

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// PlainLoginModule is the login module whose user_<name> options are the
// PLAIN users (Kafka's PlainServerCallbackHandler reads only its entries).
const PlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"

// JAASEntry is one login module entry of a JAAS configuration:
//
//	<module> <flag> [<key>=<value> ...];
type JAASEntry struct {
	LoginModule string
	// ControlFlag is REQUIRED, REQUISITE, SUFFICIENT or OPTIONAL (the
	// config spells it in any case).
	ControlFlag string
	Options     map[string]string
}

// ParseJAAS parses a JAAS configuration the way Kafka's JaasConfig does:
// java.io.StreamTokenizer with its default syntax plus '-', '_' and '$' as
// word characters and // and /* */ comments. So values are words
// (letters, digits, '.', '-', '_', '$', and every character from U+00A0 on)
// or strings in double or single quotes with Java escapes (\n, \t, \\,
// \", octal \123, any other \c is c; a string ends unterminated at a line
// end); a value that starts as a number (a digit, '.', or '-' and a digit)
// is rejected; a later duplicate key wins; each entry ends with ';'.
func ParseJAAS(config string) ([]JAASEntry, error) {
	t := &jaasTokenizer{src: config}
	var entries []JAASEntry
	for t.next() != ttEOF {
		e, err := parseJAASEntry(t)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, errors.New("sasl: Login module not specified in JAAS config")
	}
	return entries, nil
}

// ParseJAASProperty parses the value of a sasl.jaas.config property, which
// Kafka requires to hold exactly one login module.
func ParseJAASProperty(value string) (JAASEntry, error) {
	entries, err := ParseJAAS(value)
	if err != nil {
		return JAASEntry{}, err
	}
	if len(entries) != 1 {
		return JAASEntry{}, fmt.Errorf("sasl: JAAS config property contains %d login modules, should be 1 module", len(entries))
	}
	return entries[0], nil
}

// PlainUsersFromJAAS collects the user_<name>="<password>" options of the
// PlainLoginModule entries (the first entry naming a user wins, as Kafka's
// JaasContext.configEntryOption). It fails when no entry is a
// PlainLoginModule, where Kafka would refuse every login silently.
func PlainUsersFromJAAS(entries []JAASEntry) (PlainUsers, error) {
	users := PlainUsers{}
	found := false
	for _, e := range entries {
		if e.LoginModule != PlainLoginModule {
			continue
		}
		found = true
		for k, v := range e.Options {
			name, ok := strings.CutPrefix(k, "user_")
			if !ok {
				continue
			}
			if _, dup := users[name]; !dup {
				users[name] = v
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("sasl: no %s entry in the JAAS config", PlainLoginModule)
	}
	return users, nil
}

// ServerJAASConfig finds the JAAS configuration of a listener's mechanism
// in broker properties: listener.name.<listener>.<mechanism>.sasl.jaas.config
// with listener and mechanism lowercased, as Kafka's
// JaasContext.loadServerContext reads it. When that is absent it falls back
// to an unprefixed sasl.jaas.config; Kafka ignores that one on brokers (with
// a warning) but Rill accepts it for every listener and mechanism, so key
// says which was used, for the caller to log.
func ServerJAASConfig(props map[string]string, listener, mechanism string) (value, key string, ok bool) {
	key = "listener.name." + strings.ToLower(listener) + "." + strings.ToLower(mechanism) + ".sasl.jaas.config"
	if v, found := props[key]; found {
		return v, key, true
	}
	if v, found := props["sasl.jaas.config"]; found {
		return v, "sasl.jaas.config", true
	}
	return "", "", false
}

func parseJAASEntry(t *jaasTokenizer) (JAASEntry, error) {
	module, moduleOK := t.sval, t.hasSval
	if t.next() == ttEOF {
		return JAASEntry{}, errors.New("sasl: Login module control flag not specified in JAAS config")
	}
	if !t.hasSval {
		return JAASEntry{}, errors.New("sasl: Login module control flag is not available in the JAAS config")
	}
	flag := strings.ToUpper(t.sval)
	switch flag {
	case "REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL":
	default:
		return JAASEntry{}, fmt.Errorf("sasl: Invalid login module control flag '%s' in JAAS config", t.sval)
	}
	options := map[string]string{}
	for t.next() != ttEOF && t.ttype != ';' {
		key, keyOK := t.sval, t.hasSval
		if t.next() != '=' || t.next() == ttEOF || !t.hasSval {
			if !keyOK {
				key = "null"
			}
			return JAASEntry{}, fmt.Errorf("sasl: Value not specified for key '%s' in JAAS config", key)
		}
		// Kafka stores a key that is not a word or string under null,
		// where no lookup reaches it; so is it dropped here.
		if keyOK {
			options[key] = t.sval
		}
	}
	if t.ttype != ';' {
		return JAASEntry{}, errors.New("sasl: JAAS config entry not terminated by semi-colon")
	}
	if !moduleOK || module == "" {
		return JAASEntry{}, errors.New("sasl: JAAS login module name is null or empty")
	}
	return JAASEntry{LoginModule: module, ControlFlag: flag, Options: options}, nil
}

// Token types of java.io.StreamTokenizer; any other ttype is the
// character itself.
const (
	ttEOF    = -1
	ttNumber = -2
	ttWord   = -3
)

const (
	ctWhitespace = 1 << iota
	ctDigit
	ctAlpha
	ctQuote
	ctComment
)

// jaasCharType is StreamTokenizer's table after new StreamTokenizer(reader)
// and Kafka's wordChars('-'), wordChars('_'), wordChars('$').
func jaasCharType(c rune) int {
	switch {
	case c < 0:
		return ctWhitespace
	case c >= 256:
		return ctAlpha
	case c <= ' ':
		return ctWhitespace
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= 128+32, c == '_', c == '$':
		return ctAlpha
	case c == '-':
		return ctAlpha | ctDigit
	case c >= '0' && c <= '9', c == '.':
		return ctDigit
	case c == '"', c == '\'':
		return ctQuote
	case c == '/':
		return ctComment
	}
	return 0
}

// jaasTokenizer is the subset of java.io.StreamTokenizer that JaasConfig
// uses. It reads runes; Java reads UTF-16 units, which only differs for
// characters outside the BMP, both sides taking them as word characters.
type jaasTokenizer struct {
	src     string
	pos     int
	ttype   int
	sval    string
	hasSval bool
	// lastWidth is the byte width of the last rune read (0 at EOF).
	lastWidth int
}

func (t *jaasTokenizer) read() rune {
	if t.pos >= len(t.src) {
		t.lastWidth = 0
		return -1
	}
	r, n := utf8.DecodeRuneInString(t.src[t.pos:])
	t.pos += n
	t.lastWidth = n
	return r
}

// unread pushes back the rune just read (StreamTokenizer's peekc).
func (t *jaasTokenizer) unread() { t.pos -= t.lastWidth; t.lastWidth = 0 }

func (t *jaasTokenizer) next() int {
	t.sval, t.hasSval = "", false
	c := t.read()
	ct := jaasCharType(c)
	for ct&ctWhitespace != 0 {
		if c < 0 {
			t.ttype = ttEOF
			return ttEOF
		}
		c = t.read()
		ct = jaasCharType(c)
	}
	if ct&ctDigit != 0 {
		if c == '-' {
			c = t.read()
			if c != '.' && (c < '0' || c > '9') {
				t.unread()
				t.ttype = '-'
				return '-'
			}
		}
		seenDot := false
		for {
			if c == '.' && !seenDot {
				seenDot = true
			} else if c < '0' || c > '9' {
				break
			}
			c = t.read()
		}
		t.unread()
		t.ttype = ttNumber
		return ttNumber
	}
	if ct&ctAlpha != 0 {
		var b strings.Builder
		for ct&(ctAlpha|ctDigit) != 0 {
			b.WriteRune(c)
			c = t.read()
			ct = jaasCharType(c)
		}
		t.unread()
		t.sval, t.hasSval = b.String(), true
		t.ttype = ttWord
		return ttWord
	}
	if ct&ctQuote != 0 {
		t.ttype = int(c)
		quote := c
		var b strings.Builder
		d := t.read()
		for d >= 0 && d != quote && d != '\n' && d != '\r' {
			if d == '\\' {
				c = t.read()
				first := c
				if c >= '0' && c <= '7' {
					c -= '0'
					c2 := t.read()
					if c2 >= '0' && c2 <= '7' {
						c = c<<3 + (c2 - '0')
						c2 = t.read()
						if c2 >= '0' && c2 <= '7' && first <= '3' {
							c = c<<3 + (c2 - '0')
							d = t.read()
						} else {
							d = c2
						}
					} else {
						d = c2
					}
				} else {
					switch c {
					case 'a':
						c = 0x7
					case 'b':
						c = '\b'
					case 'f':
						c = 0xC
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'v':
						c = 0xB
					case -1:
						c = 0xFFFF // Java's (char) -1
					}
					d = t.read()
				}
			} else {
				c = d
				d = t.read()
			}
			b.WriteRune(c)
		}
		if d != quote {
			t.unread()
		}
		t.sval, t.hasSval = b.String(), true
		return t.ttype
	}
	if c == '/' {
		c = t.read()
		switch c {
		case '*':
			prev := rune(0)
			for {
				c = t.read()
				if c < 0 {
					t.ttype = ttEOF
					return ttEOF
				}
				if c == '/' && prev == '*' {
					break
				}
				prev = c
			}
			return t.next()
		default:
			// "//", and since '/' is also a comment character, a lone '/':
			// the rest of the line is a comment. Like Java, a lone '/'
			// does not look again at the character after it, so "/\n"
			// comments out the next line too.
			for {
				c = t.read()
				if c == '\n' || c == '\r' || c < 0 {
					break
				}
			}
			t.unread()
			return t.next()
		}
	}
	t.ttype = int(c)
	return t.ttype
}
