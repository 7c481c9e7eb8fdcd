//go:build race

package analyze_test

// raceEnabled: the race detector slows decoding ~10×; tests use fewer frames.
const raceEnabled = true
