package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// removeMarkerAndCheckpoint makes the next Open recover everything, as after
// a crash with no checkpoint written.
func removeMarkerAndCheckpoint(tb testing.TB, dir string) {
	for _, f := range []string{cleanShutdownFile, recoveryPointFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
	}
}
