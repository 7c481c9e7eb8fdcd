//go:build race

package store_test

// raceEnabled: the race detector slows FerretDB ~10x, enough for heavy
// concurrent tests to hit SQLite's 10 s busy timeout.
const raceEnabled = true
