//go:build race

package mnist_test

// raceEnabled: under the race detector, decompressing the 47 MB training
// set takes tens of seconds on a small machine, so the tests read only the
// test set; the run without the race detector (CI does both) reads both.
const raceEnabled = true
