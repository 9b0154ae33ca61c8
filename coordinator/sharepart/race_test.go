//go:build race

package sharepart

const raceEnabled = true
