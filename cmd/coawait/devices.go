package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

func init() {
	register(&command{
		name:    "devices",
		summary: "list the devices this build can open and their properties",
		setup: func(fs *flag.FlagSet) func(context.Context, io.Writer, io.Writer, []string) error {
			return func(_ context.Context, out, _ io.Writer, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				return listDevices(out, cuda.DeviceCount, cuda.Open)
			}
		},
	})
}

// listDevices prints the simulator's properties, then those of every GPU
// that count and open find (none in a build without -tags cuda: then it
// says why).
func listDevices(out io.Writer, count func() (int, error), open func(int) (cuda.Device, error)) error {
	s := sim.New(sim.Config{Mode: sim.Modeled})
	printProperties(out, "sim", s.Properties())
	if err := s.Close(); err != nil {
		return err
	}
	n, err := count()
	if err != nil {
		fmt.Fprintf(out, "\ncuda: no GPUs: %v\n", err)
		return nil
	}
	if n == 0 {
		fmt.Fprintln(out, "\ncuda: the driver reports no GPUs")
		return nil
	}
	for i := range n {
		dev, err := open(i)
		if err != nil {
			return fmt.Errorf("open GPU %d: %w", i, err)
		}
		fmt.Fprintln(out)
		printProperties(out, fmt.Sprintf("cuda:%d", i), dev.Properties())
		if err := dev.Close(); err != nil {
			return fmt.Errorf("close GPU %d: %w", i, err)
		}
	}
	return nil
}

func printProperties(out io.Writer, flagValue string, p cuda.Properties) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "-device %s\t%s\n", flagValue, p.Name)
	fmt.Fprintf(tw, "  memory\t%.1f GiB\n", float64(p.TotalMemory)/(1<<30))
	fmt.Fprintf(tw, "  compute capability\t%d.%d\n", p.Capability.Major, p.Capability.Minor)
	fmt.Fprintf(tw, "  multiprocessors\t%d\n", p.Multiprocessors)
	fmt.Fprintf(tw, "  copy engines\t%d\n", p.CopyEngines)
	fmt.Fprintf(tw, "  timing events\t%v\n", p.TimingEvents)
	fmt.Fprintf(tw, "  max threads per block\t%d\n", p.MaxThreadsPerBlock)
	fmt.Fprintf(tw, "  max block\t%d × %d × %d\n", p.MaxBlock.X, p.MaxBlock.Y, p.MaxBlock.Z)
	fmt.Fprintf(tw, "  max grid\t%d × %d × %d\n", p.MaxGrid.X, p.MaxGrid.Y, p.MaxGrid.Z)
	fmt.Fprintf(tw, "  shared memory per block\t%d KiB\n", p.MaxSharedMemoryPerBlock/1024)
	fmt.Fprintf(tw, "  stream priorities\t%d (lowest) .. %d (highest)\n", p.LeastPriority, p.GreatestPriority)
	tw.Flush()
}
