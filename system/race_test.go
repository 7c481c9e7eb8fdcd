//go:build race

package system_test

// raceEnabled: the race detector slows CPU-bound work (decoding, analysis,
// the embedded database) several-fold, so tests widen their timeouts.
const raceEnabled = true
