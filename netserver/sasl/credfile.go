package sasl

import (
	"bufio"
	"fmt"
	"strings"
)

// ParseCredentialsFile parses Rill's PLAIN credentials file, the
// alternative to user_<name> options in a JAAS config:
//
//	# comment; blank lines are ignored
//	alice:alice-secret
//	bob:a password: with colons and spaces
//
// Each line is <user>:<password>. The user is everything before the first
// ':' and must be non-empty and free of whitespace; the password is the
// rest of the line, verbatim (a trailing "\r" is dropped) and non-empty.
// Lines whose first non-blank character is '#' are comments. A user listed
// twice is an error, so is any malformed line; errors name the line.
func ParseCredentialsFile(content string) (PlainUsers, error) {
	users := PlainUsers{}
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		user, password, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			return nil, fmt.Errorf("sasl: credentials file line %d: want <user>:<password>", n)
		case user == "" || strings.ContainsAny(user, " \t"):
			return nil, fmt.Errorf("sasl: credentials file line %d: the user name is empty or has whitespace", n)
		case password == "":
			return nil, fmt.Errorf("sasl: credentials file line %d: empty password for %q", n, user)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("sasl: credentials file line %d: user %q listed twice", n, user)
		}
		users[user] = password
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sasl: credentials file: %w", err)
	}
	return users, nil
}
