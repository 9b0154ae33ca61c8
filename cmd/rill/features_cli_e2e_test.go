package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// rill features against a real broker, as kafka-features.sh is used: a
// new cluster shows transaction.version finalized at 2; a downgrade to 1
// and an upgrade back show in describe; an unknown feature, a level
// above the supported maximum and an upgrade to a lower level fail with
// the broker's reason and exit 1; --dry-run changes nothing.
func TestFeaturesCLI(t *testing.T) {
	b := startBroker(t, t.TempDir())
	bs := "--bootstrap=" + b.addr

	type described struct {
		Features []struct {
			Name           string `json:"name"`
			SupportedMin   *int16 `json:"supported_min_version"`
			SupportedMax   *int16 `json:"supported_max_version"`
			FinalizedLevel int16  `json:"finalized_version_level"`
		} `json:"features"`
		Epoch *int64 `json:"finalized_features_epoch"`
	}
	// tv is transaction.version's finalized level and the epoch.
	tv := func() (int16, int64) {
		t.Helper()
		var d described
		rillJSON(t, &d, "features", "describe", bs)
		for _, f := range d.Features {
			if f.Name == "transaction.version" {
				if f.SupportedMin == nil || f.SupportedMax == nil || *f.SupportedMin != 0 || *f.SupportedMax != 2 {
					t.Fatalf("transaction.version supported %v-%v, want 0-2", f.SupportedMin, f.SupportedMax)
				}
				epoch := int64(-1)
				if d.Epoch != nil {
					epoch = *d.Epoch
				}
				return f.FinalizedLevel, epoch
			}
		}
		t.Fatalf("features describe: no transaction.version in %+v", d)
		return 0, 0
	}

	// The controller finalizes the features in its first metadata batch,
	// which the first request may come before (no epoch yet).
	level, epoch := tv()
	for deadline := time.Now().Add(10 * time.Second); epoch <= 0 && time.Now().Before(deadline); level, epoch = tv() {
		time.Sleep(20 * time.Millisecond)
	}
	if level != 2 || epoch <= 0 {
		t.Fatalf("a new cluster: transaction.version %d at epoch %d, want 2", level, epoch)
	}
	out := rill(t, "", "features", "describe", bs)
	for _, want := range []string{
		"Feature: share.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 1\tEpoch: ",
		"\nFeature: transaction.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 2\tFinalizedVersionLevel: 2\tEpoch: ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("features describe:\n%q\nwant a line %q", out, want)
		}
	}

	// --dry-run validates and changes nothing.
	if out := rill(t, "", "features", "downgrade", bs, "--feature", "transaction.version=1", "--dry-run"); out != "transaction.version can be downgraded to 1.\n" {
		t.Fatalf("downgrade --dry-run: %q", out)
	}
	if l, e := tv(); l != 2 || e != epoch {
		t.Fatalf("after a dry run: transaction.version %d at epoch %d, want 2 at %d", l, e, epoch)
	}

	if out := rill(t, "", "features", "downgrade", bs, "--feature", "transaction.version=1"); out != "transaction.version was downgraded to 1.\n" {
		t.Fatalf("downgrade: %q", out)
	}
	l, e := tv()
	if l != 1 || e <= epoch {
		t.Fatalf("after the downgrade: transaction.version %d at epoch %d, want 1 after epoch %d", l, e, epoch)
	}
	epoch = e

	// Failures: the broker's reason per feature on stdout, a count on
	// stderr, exit 1, and nothing changed.
	for _, c := range []struct {
		args       []string
		line, why  string
		failed     string
		unexpected string
	}{
		{[]string{"upgrade", "--feature", "no.such.feature=1"}, "Could not upgrade no.such.feature to 1. INVALID_UPDATE_VERSION", "does not support this feature", "1 out of 1", ""},
		{[]string{"upgrade", "--feature", "transaction.version=3"}, "Could not upgrade transaction.version to 3. INVALID_UPDATE_VERSION", "only supports versions 0-2", "1 out of 1", ""},
		{[]string{"upgrade", "--feature", "transaction.version=0"}, "Could not upgrade transaction.version to 0. INVALID_UPDATE_VERSION", "without setting the upgrade type", "1 out of 1", ""},
		// All or nothing: the valid update is refused with the other's reason.
		{[]string{"upgrade", "--feature", "transaction.version=2", "--feature", "no.such.feature=1"}, "Could not upgrade transaction.version to 2. INVALID_UPDATE_VERSION", "does not support this feature", "2 out of 2", "was upgraded"},
		{[]string{"downgrade", "--feature", "transaction.version=3", "--dry-run"}, "Can not downgrade transaction.version to 3. INVALID_UPDATE_VERSION", "only supports versions 0-2", "1 out of 1", ""},
	} {
		out, errOut, err := rillOutErr(t, "", append(append([]string{"features"}, c.args...), bs)...)
		if err == nil || !strings.Contains(out, c.line) || !strings.Contains(out, c.why) ||
			!strings.Contains(errOut, "rill: "+c.failed+" operation(s) failed") || (c.unexpected != "" && strings.Contains(out, c.unexpected)) {
			t.Fatalf("features %v: %v\nstdout:\n%s\nstderr:\n%s", c.args, err, out, errOut)
		}
		if code := exitCode(err); code != exitFailure {
			t.Fatalf("features %v: exit %d, want %d", c.args, code, exitFailure)
		}
	}
	if l, e := tv(); l != 1 || e != epoch {
		t.Fatalf("after failed updates: transaction.version %d at epoch %d, want 1 at %d", l, e, epoch)
	}

	// Back up, reported in JSON too.
	var res struct {
		Results []struct {
			Feature     string `json:"feature"`
			Level       int16  `json:"level"`
			Operation   string `json:"operation"`
			UpgradeType string `json:"upgrade_type"`
			Error       string `json:"error"`
		} `json:"results"`
	}
	rillJSON(t, &res, "features", "upgrade", bs, "--feature", "transaction.version=2")
	if len(res.Results) != 1 || res.Results[0].Feature != "transaction.version" || res.Results[0].Level != 2 ||
		res.Results[0].Operation != "upgrade" || res.Results[0].UpgradeType != "UPGRADE" || res.Results[0].Error != "" {
		t.Fatalf("upgrade --format json: %+v", res)
	}
	if l, e := tv(); l != 2 || e <= epoch {
		t.Fatalf("after the upgrade: transaction.version %d at epoch %d, want 2 after epoch %d", l, e, epoch)
	}

	// Usage errors exit 2 before anything is sent.
	for _, args := range [][]string{
		{"upgrade"},
		{"upgrade", "--feature", "transaction.version"},
		{"upgrade", "--feature", "transaction.version=-1"},
		{"downgrade", "--feature", "transaction.version=1", "--feature", "transaction.version=0"},
		{"disable", "--feature", "transaction.version=0"},
		{"upgrade", "--feature", "transaction.version=2", "--unsafe"},
	} {
		_, errOut, err := rillOutErr(t, "", append(append([]string{"features"}, args...), bs)...)
		if code := exitCode(err); code != exitUsage || !strings.Contains(errOut, "Run 'rill features") {
			t.Fatalf("features %v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
}

// exitCode is how a rill run ended: its exit code, 0 without an error,
// -1 when it did not exit on its own.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	return -1
}
