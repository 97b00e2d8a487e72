//go:build !race

package mnist_test

const raceEnabled = false
