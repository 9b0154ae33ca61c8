package logging

import (
	"fmt"
	"log/slog"
)

// Format is the output encoding.
type Format string

const (
	// Text is slog's key=value lines (the default): readable, and what
	// the e2e tests grep.
	Text Format = "text"
	// JSON is one JSON object per line, for log shippers.
	JSON Format = "json"
)

// Settings is the configuration a Logging starts from.
type Settings struct {
	Format Format
	Level  slog.Level
	// Overrides maps a component to its level; absent components follow
	// Level.
	Overrides map[string]slog.Level
}

// DefaultSettings are text lines at info with no overrides.
func DefaultSettings() Settings { return Settings{Format: Text, Level: slog.LevelInfo} }

// SettingKeys are every key ParseSettings reads, for a config table that
// refuses unknown keys: log.format, log.level and log.level.<component>
// for each of Components.
func SettingKeys() []string {
	keys := []string{"log.format", "log.level"}
	for _, c := range Components {
		keys = append(keys, "log.level."+c)
	}
	return keys
}

// ParseSettings reads log.format, log.level and log.level.<component>
// for each of Components through get, which reports whether a key is
// set. Absent keys keep DefaultSettings; a bad value is an error naming
// the key.
func ParseSettings(get func(key string) (string, bool)) (Settings, error) {
	s := DefaultSettings()
	if v, ok := get("log.format"); ok {
		switch Format(v) {
		case Text, JSON:
			s.Format = Format(v)
		default:
			return s, fmt.Errorf("log.format %q: want text or json", v)
		}
	}
	if v, ok := get("log.level"); ok {
		l, err := ParseLevel(v)
		if err != nil {
			return s, fmt.Errorf("log.level: %w", err)
		}
		s.Level = l
	}
	for _, c := range Components {
		key := "log.level." + c
		v, ok := get(key)
		if !ok {
			continue
		}
		l, err := ParseLevel(v)
		if err != nil {
			return s, fmt.Errorf("%s: %w", key, err)
		}
		if s.Overrides == nil {
			s.Overrides = map[string]slog.Level{}
		}
		s.Overrides[c] = l
	}
	return s, nil
}
