package sim_test

import (
	"testing"
	"testing/synctest"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/cudatest"
	"github.com/coawait/coawait/cuda/sim"
)

func newSim(cfg sim.Config) cudatest.NewDevice {
	return func(*testing.T) cuda.Device { return sim.New(cfg) }
}

// TestConformance runs the suite in Instant mode.
func TestConformance(t *testing.T) {
	cudatest.Run(t, newSim(sim.Config{}))
}

// TestConformanceModeled runs the suite in Modeled mode, each test in a
// synctest bubble, so modeled time passes exactly and instantly.
func TestConformanceModeled(t *testing.T) {
	for _, tc := range cudatest.Tests() {
		t.Run(tc.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tc.F(t, newSim(sim.Config{Mode: sim.Modeled}))
			})
		})
	}
}

// TestConformanceRealTime runs the suite in Modeled mode on the real clock,
// with one copy engine.
func TestConformanceRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time mode in -short")
	}
	cudatest.Run(t, newSim(sim.Config{Mode: sim.Modeled, Timing: sim.Timing{CopyEngines: 1}}))
}
