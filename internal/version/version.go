// Package version says which build of rill is running. Release builds stamp
// the variables with the linker:
//
//	go build -ldflags "-X github.com/rillmq/rill/internal/version.Version=v0.3.0 \
//	    -X github.com/rillmq/rill/internal/version.Commit=$(git rev-parse HEAD)"
//
// A plain `go build` in a checkout leaves them empty; Get then falls back to
// the VCS stamp the go command embeds (runtime/debug.ReadBuildInfo), so a
// developer build still names its commit.
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped with -ldflags -X; empty when not.
var (
	Version string
	Commit  string
)

// Info is what `rill version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Get returns the stamped values, completed from the build info.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info = fromBuildInfo(info, bi)
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// fromBuildInfo fills what the linker did not stamp: the module version
// (set when built with `go install module@version`) and the vcs.* settings
// (set when built inside a git checkout).
func fromBuildInfo(info Info, bi *debug.BuildInfo) Info {
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Commit == "" {
				info.Commit = s.Value
			}
		case "vcs.modified":
			// Only meaningful for the vcs commit; a stamped commit is what
			// the release process says it is.
			if Commit == "" {
				info.Modified = s.Value == "true"
			}
		}
	}
	return info
}
