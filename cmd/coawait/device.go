package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

// deviceFlagHelp is the help text of every command's -device flag.
const deviceFlagHelp = "device to run on: sim (the simulated H100, modeled time) or cuda[:N] (GPU N; needs a build with -tags cuda)"

// openDevice opens the device a -device flag names: "sim" is a simulated
// H100 PCIe in sim.Modeled mode (device work takes its modeled time on the
// host's clock); "cuda" or "cuda:N" is real GPU N (0 by default), which
// fails with an error matching cuda.ErrNotBuilt in a build without -tags
// cuda. The caller closes the device.
func openDevice(name string) (cuda.Device, error) {
	switch {
	case name == "sim":
		return sim.New(sim.Config{Mode: sim.Modeled}), nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:"):
		ordinal := 0
		if rest, ok := strings.CutPrefix(name, "cuda:"); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return nil, usagef("-device %q: want cuda:N with N a GPU number (0, 1, ...)", name)
			}
			ordinal = n
		}
		dev, err := cuda.Open(ordinal)
		if err != nil {
			return nil, fmt.Errorf("open GPU %d: %w", ordinal, err)
		}
		return dev, nil
	}
	return nil, usagef("-device %q: want sim, cuda or cuda:N", name)
}
