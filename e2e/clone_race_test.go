//go:build race

package e2e

// raceDetector reports a build with -race, under which the in-process
// servers run many times slower: the largest tests skip their slowest
// redundant checks.
const raceDetector = true
