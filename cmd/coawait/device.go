package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/scheduler"
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

// policyFlag is a -policy flag: the scheduler's completion policy.
type policyFlag struct{ p *scheduler.Policy }

// policies are the values -policy accepts.
var policies = []scheduler.Policy{scheduler.Adaptive, scheduler.Spin, scheduler.Blocking, scheduler.HostCallback}

func (f policyFlag) String() string {
	if f.p == nil {
		return scheduler.Adaptive.String()
	}
	return f.p.String()
}

func (f policyFlag) Set(s string) error {
	names := make([]string, len(policies))
	for i, p := range policies {
		if p.String() == s {
			*f.p = p
			return nil
		}
		names[i] = p.String()
	}
	return fmt.Errorf("want one of %s", strings.Join(names, ", "))
}

// policyFlagHelp is the help text of every command's -policy flag.
const policyFlagHelp = "how the scheduler learns that device work is done: adaptive (poll, then back off), spin, blocking or host-callback"
