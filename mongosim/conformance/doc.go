// Package conformance is a driver-level test suite for mongosim. It runs
// against an in-process mongosim by default and, unchanged, against a real
// replica set when MONGOSIM_CONFORMANCE_URI is set. Tests live in _test
// files; see harness_test.go for the helpers every test uses.
package conformance
