//go:build race

package bench

// raceEnabled is true in a -race build: tests that drive a browser against
// a live run skip there (the detector's slowdown makes their timing
// meaningless, and the plain build runs them).
const raceEnabled = true
