//go:build !race

package e2e

// raceDetector reports a build with -race (see clone_race_test.go).
const raceDetector = false
