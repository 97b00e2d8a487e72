package scheduler_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
	"github.com/coawait/coawait/future"
	"github.com/coawait/coawait/scheduler"
	"pgregory.net/rapid"
)

// dagOp is one step of a random program over a few device buffers.
type dagOp struct {
	kind   int // 0 upload, 1 scale, 2 saxpy, 3 copy, 4 memset
	dst    int
	src    int
	a      float32
	stream int
	extra  []int // additional random dependencies (indices of earlier ops)
	gate   int   // 0: none; 1 or 2: also wait for host future gate 1 or 2
}

const (
	dagBufs  = 4
	dagElems = 64
)

// Property: a random DAG of copies, memsets and kernels on random streams,
// where each operation depends (through After) on the earlier operations
// that touch the same buffers plus some random others, leaves the device
// memory exactly as running the operations one by one on the CPU does.
// A missing device-side wait would show as a wrong value (and as a data
// race under -race).
func TestRandomDAGMatchesSequential(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nops := rapid.IntRange(1, 30).Draw(rt, "nops")
		ops := make([]dagOp, nops)
		for i := range ops {
			o := dagOp{
				kind:   rapid.IntRange(0, 4).Draw(rt, fmt.Sprint("kind", i)),
				dst:    rapid.IntRange(0, dagBufs-1).Draw(rt, fmt.Sprint("dst", i)),
				src:    rapid.IntRange(0, dagBufs-1).Draw(rt, fmt.Sprint("src", i)),
				a:      float32(rapid.IntRange(-3, 3).Draw(rt, fmt.Sprint("a", i))),
				stream: rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("stream", i)),
			}
			if i > 0 {
				o.extra = rapid.SliceOfN(rapid.IntRange(0, i-1), 0, 2).Draw(rt, fmt.Sprint("extra", i))
			}
			o.gate = rapid.IntRange(0, 2).Draw(rt, fmt.Sprint("gate", i))
			if o.src == o.dst && (o.kind == 2 || o.kind == 3) {
				o.src = (o.dst + 1) % dagBufs
			}
			ops[i] = o
		}
		policy := policies[rapid.IntRange(0, len(policies)-1).Draw(rt, "policy")]
		if err := runDAG(ops, policy); err != nil {
			rt.Fatal(err)
		}
	})
}

func runDAG(ops []dagOp, policy scheduler.Policy) error {
	dev := sim.New(sim.Config{})
	defer dev.Close()
	s, err := scheduler.New(dev, scheduler.WithPolicy(policy))
	if err != nil {
		return err
	}
	defer s.Close()
	streams := make([]cuda.Stream, 4)
	for i := range streams {
		if streams[i], err = dev.NewStream(0); err != nil {
			return err
		}
		defer streams[i].Close()
	}
	kern := func(name string) cuda.Kernel { k, _ := dev.Kernel(sim.BuiltinModule, name); return k }
	scale, saxpy := kern("scale_f32"), kern("saxpy_f32")
	bufs := make([]cuda.DevicePtr, dagBufs)
	model := make([][]float32, dagBufs)
	for i := range bufs {
		if bufs[i], err = dev.Alloc(4 * dagElems); err != nil {
			return err
		}
		model[i] = make([]float32, dagElems)
	}
	// Zero the buffers first; every later op depends on these.
	var last [dagBufs]future.Awaitable
	for i := range bufs {
		last[i] = s.Memset(bufs[i], 0, 4*dagElems, 0)
	}
	all := make([]future.Awaitable, len(ops))
	cfg := cuda.Linear(dagElems, 32, nil)
	// Host futures that some operations also wait for (a batch still being
	// loaded): those are submitted late, after operations that depend on
	// them were made.
	gate1, open1 := future.New[struct{}]()
	gate2, open2 := future.New[struct{}]()
	gates := []future.Awaitable{nil, gate1, gate2}
	for i, o := range ops {
		deps := []future.Awaitable{last[o.dst], last[o.src]}
		for _, j := range o.extra {
			deps = append(deps, all[j])
		}
		if o.gate > 0 {
			deps = append(deps, gates[o.gate])
		}
		opt := []scheduler.OpOption{scheduler.After(deps...), scheduler.OnStream(streams[o.stream])}
		var op future.Awaitable
		switch o.kind {
		case 0: // upload a pattern into dst
			hb, err := dev.AllocHost(4 * dagElems)
			if err != nil {
				return err
			}
			f, _ := hb.Float32s()
			for k := range f {
				f[k] = float32(i*100 + k)
			}
			copy(model[o.dst], f)
			op = s.CopyHtoD(bufs[o.dst], 0, hb, 0, 4*dagElems, opt...)
		case 1:
			for k := range model[o.dst] {
				model[o.dst][k] *= o.a
			}
			op = s.Launch(scale, cfg, []cuda.Arg{cuda.Ptr(bufs[o.dst]), cuda.Float32(o.a), cuda.Int32(dagElems)}, opt...)
		case 2:
			for k := range model[o.dst] {
				model[o.dst][k] += o.a * model[o.src][k]
			}
			op = s.Launch(saxpy, cfg, []cuda.Arg{cuda.Ptr(bufs[o.dst]), cuda.Float32(o.a), cuda.Ptr(bufs[o.src]), cuda.Int32(dagElems)}, opt...)
		case 3:
			copy(model[o.dst], model[o.src])
			op = s.CopyDtoD(bufs[o.dst], 0, bufs[o.src], 0, 4*dagElems, opt...)
		default:
			clear(model[o.dst])
			op = s.Memset(bufs[o.dst], 0, 4*dagElems, 0, opt...)
		}
		all[i] = op
		// Readers of src and writers of dst both now follow this op.
		last[o.dst] = op
		if o.kind == 2 || o.kind == 3 {
			last[o.src] = op
		}
	}
	open2.Resolve(struct{}{})
	open1.Resolve(struct{}{})
	ctx := context.Background()
	for b := range bufs {
		hb, err := dev.AllocHost(4 * dagElems)
		if err != nil {
			return err
		}
		out, err := s.CopyDtoH(hb, 0, bufs[b], 0, 4*dagElems, scheduler.After(last[b])).Await(ctx)
		if err != nil {
			return fmt.Errorf("download %d: %w", b, err)
		}
		got, _ := out.Float32s()
		for k := range got {
			if got[k] != model[b][k] {
				return fmt.Errorf("policy %v: buffer %d[%d] = %v, sequential model %v", policy, b, k, got[k], model[b][k])
			}
		}
	}
	return nil
}
