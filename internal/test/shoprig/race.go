//go:build race

package shoprig

// RaceEnabled reports whether the race detector is on.
const RaceEnabled = true
