package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfoFallsBackToVCS(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	got := fromBuildInfo(Info{}, bi)
	if got.Commit != "abc123" || !got.Modified || got.Version != "" {
		t.Fatalf("got %+v, want commit abc123, modified, no version", got)
	}
}

func TestFromBuildInfoKeepsStamp(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}
	got := fromBuildInfo(Info{Version: "v1.0.0", Commit: "stamped"}, bi)
	if got.Version != "v1.0.0" || got.Commit != "stamped" {
		t.Fatalf("got %+v, want the stamped version and commit", got)
	}
}

func TestFromBuildInfoModuleVersion(t *testing.T) {
	got := fromBuildInfo(Info{}, &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}})
	if got.Version != "v0.2.0" {
		t.Fatalf("got %q, want the module version", got.Version)
	}
}
