// Command 08-predicting-a-pipeline is the program of the tutorial
// docs/08-predicting-a-pipeline.md: it runs the training steps of a small
// MLP (upload a batch, forward, backward, update) on simulated devices
// modeled on three GPU and link combinations, step by step and with the
// uploads overlapped with compute, and prints what the timing model
// predicts for each.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/kernels"
	"github.com/coawait/coawait/cuda/sim"
)

// The model: 784 inputs, one hidden layer, 10 classes; batches of float32.
const (
	in, hidden, classes = 784, 300, 10
	batch               = 128
	steps               = 6
)

// A card is a GPU and its host link, as the timing model sees them.
type card struct {
	name   string
	timing sim.Timing
}

// cards are the devices the program predicts for. The first is the
// simulator's default; the others change its numbers to those of the
// vendor's data sheets (fp32 without tensor cores, scaled by the share of
// peak a tuned SGEMM reaches, as the default does).
var cards = []card{
	{"H100 PCIe, PCIe Gen5 x16", sim.DefaultTiming()},
	{"H100 PCIe, PCIe Gen4 x16", sim.Timing{HtoD: 25e9, DtoH: 25e9}},
	{"A100 PCIe 40GB, Gen4 x16", sim.Timing{HtoD: 25e9, DtoH: 25e9, Memory: 1.555e12, Compute: 19.5e12 * 50 / 51}},
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "08-predicting-a-pipeline:", err)
		os.Exit(1)
	}
}

// mlp is the device memory of the model and of two batch slots.
type mlp struct {
	w1, b1, w2, b2, v1, vb1, v2, vb2 cuda.DevicePtr // weights, biases, momenta
	g1, gb1, g2, gb2                 cuda.DevicePtr // gradients
	h, dh, logits, loss              cuda.DevicePtr // activations
	x, labels                        [2]cuda.DevicePtr
}

// stepLaunches returns one training step's kernels on the batch in slot k:
// the forward pass, softmax cross-entropy, the backward pass and SGD.
func (m *mlp) stepLaunches(k int) ([]kernels.Launch, error) {
	var ls []kernels.Launch
	var errs []error
	add := func(l kernels.Launch, err error) { ls = append(ls, l); errs = append(errs, err) }
	gemm := func(g kernels.Gemm) { g.Alpha = 1; add(kernels.Sgemm(g)) }
	gemm(kernels.Gemm{C: m.h, A: m.x[k], B: m.w1, M: batch, N: hidden, K: in, TransB: true})
	add(kernels.BiasAdd(m.h, m.b1, batch, hidden))
	add(kernels.ReLU(m.h, m.h, batch*hidden))
	gemm(kernels.Gemm{C: m.logits, A: m.h, B: m.w2, M: batch, N: classes, K: hidden, TransB: true})
	add(kernels.BiasAdd(m.logits, m.b2, batch, classes))
	add(kernels.SoftmaxXent(m.loss, m.logits, m.logits, m.labels[k], batch, classes))
	gemm(kernels.Gemm{C: m.g2, A: m.logits, B: m.h, M: classes, N: hidden, K: batch, TransA: true})
	add(kernels.ColSum(m.gb2, m.logits, batch, classes))
	gemm(kernels.Gemm{C: m.dh, A: m.logits, B: m.w2, M: batch, N: hidden, K: classes})
	add(kernels.ReLUGrad(m.dh, m.dh, m.h, batch*hidden))
	gemm(kernels.Gemm{C: m.g1, A: m.dh, B: m.x[k], M: hidden, N: in, K: batch, TransA: true})
	add(kernels.ColSum(m.gb1, m.dh, batch, hidden))
	add(kernels.SGDMomentum(m.w1, m.v1, m.g1, 0.01, 0.9, hidden*in))
	add(kernels.SGDMomentum(m.b1, m.vb1, m.gb1, 0.01, 0.9, hidden))
	add(kernels.SGDMomentum(m.w2, m.v2, m.g2, 0.01, 0.9, classes*hidden))
	add(kernels.SGDMomentum(m.b2, m.vb2, m.gb2, 0.01, 0.9, classes))
	return ls, errors.Join(errs...)
}

// batchBytes is the upload of one batch: the inputs, then the labels.
const batchBytes = 4*batch*in + 4*batch

// predictStep is what the model t gives one step without any overlap:
// the upload, and the kernels one after the other.
func predictStep(t sim.Timing, ls []kernels.Launch) (upload, compute time.Duration) {
	for _, l := range ls {
		def, _ := kernels.Lookup(l.Name)
		compute += t.KernelTime(def.Work(l.Args))
	}
	return t.CopyHtoD(batchBytes), compute
}

// withDefaults returns t with its zero fields set as the simulator sets
// them (sim.Timing's doc: zero fields take DefaultTiming's values).
func withDefaults(t sim.Timing) sim.Timing {
	dev := sim.New(sim.Config{Timing: t})
	defer dev.Close()
	return dev.Config().Timing
}

// simulate runs the steps on a device modeled on c, in Instant mode: the
// Go bodies compute, nothing waits, and every timestamp is the model's,
// whatever the host's speed. With overlap, batch i+1 is uploaded while
// step i computes; without, each upload waits for the step before. It
// returns the device time from the first upload to the end of the last
// step.
//
// It drives streams and events directly, so that every dependency is a
// wait on the device: the scheduler skips the wait for a dependency that
// has already completed, which is right on a GPU, but in Instant mode
// (where the host's clock stands at zero) the model could then start the
// copy before the work it depended on.
func simulate(c card, overlap bool) (time.Duration, error) {
	dev := sim.New(sim.Config{Timing: c.timing})
	defer dev.Close()
	ks, err := kernels.Bind(dev)
	if err != nil {
		return 0, err
	}
	m, host, err := allocate(dev)
	if err != nil {
		return 0, err
	}
	copyIn, err1 := dev.NewStream(0)
	compute, err2 := dev.NewStream(0)
	start, err3 := dev.NewEvent(0)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, err
	}
	var uploaded, stepped [steps]cuda.Event
	for i := range steps {
		if uploaded[i], err = dev.NewEvent(0); err != nil {
			return 0, err
		}
		if stepped[i], err = dev.NewEvent(0); err != nil {
			return 0, err
		}
	}
	var errs []error
	try := func(err error) { errs = append(errs, err) }
	try(copyIn.RecordEvent(start))
	for i := range steps {
		k := i % 2
		if !overlap && i > 0 {
			try(copyIn.WaitEvent(stepped[i-1])) // step by step
		}
		if i >= 2 {
			try(copyIn.WaitEvent(stepped[i-2])) // slot k is free once step i-2 is done
		}
		try(copyIn.CopyHtoD(m.x[k], 0, host[k], 0, 4*batch*in))
		try(copyIn.CopyHtoD(m.labels[k], 0, host[k], 4*batch*in, 4*batch))
		try(copyIn.RecordEvent(uploaded[i]))

		try(compute.WaitEvent(uploaded[i]))
		ls, err := m.stepLaunches(k)
		try(err)
		for _, l := range ls {
			try(ks.On(compute, l))
		}
		try(compute.RecordEvent(stepped[i]))
	}
	try(dev.Synchronize())
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return dev.ElapsedTime(start, stepped[steps-1])
}

// allocate makes the model's device memory (zeros: the weights do not
// matter to the timing) and two pinned host buffers of a batch each.
func allocate(dev cuda.Device) (*mlp, [2]*cuda.HostBuffer, error) {
	m := &mlp{}
	var host [2]*cuda.HostBuffer
	var err error
	alloc := func(p *cuda.DevicePtr, floats int) {
		if err == nil {
			*p, err = dev.Alloc(4 * floats)
		}
	}
	for _, a := range []struct {
		p *cuda.DevicePtr
		n int
	}{
		{&m.w1, hidden * in}, {&m.v1, hidden * in}, {&m.g1, hidden * in},
		{&m.b1, hidden}, {&m.vb1, hidden}, {&m.gb1, hidden},
		{&m.w2, classes * hidden}, {&m.v2, classes * hidden}, {&m.g2, classes * hidden},
		{&m.b2, classes}, {&m.vb2, classes}, {&m.gb2, classes},
		{&m.h, batch * hidden}, {&m.dh, batch * hidden},
		{&m.logits, batch * classes}, {&m.loss, batch},
		{&m.x[0], batch * in}, {&m.x[1], batch * in}, {&m.labels[0], batch}, {&m.labels[1], batch},
	} {
		alloc(a.p, a.n)
	}
	for k := range host {
		if err == nil {
			host[k], err = dev.AllocHost(batchBytes)
		}
	}
	return m, host, err
}

// A prediction is what the model says about one card: one step's upload
// and compute from the arithmetic (predictStep), and the steps simulated
// step by step and overlapped.
type prediction struct {
	card               card
	upload, compute    time.Duration
	serial, overlapped time.Duration
}

// predict simulates the steps on every card.
func predict() ([]prediction, error) {
	var m mlp
	ls, err := m.stepLaunches(0) // null pointers: only the sizes count
	if err != nil {
		return nil, err
	}
	var ps []prediction
	for _, c := range cards {
		p := prediction{card: c}
		p.upload, p.compute = predictStep(withDefaults(c.timing), ls)
		if p.serial, err = simulate(c, false); err != nil {
			return nil, err
		}
		if p.overlapped, err = simulate(c, true); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// report prints the predictions as a table.
func report(out io.Writer, ps []prediction) error {
	fmt.Fprintf(out, "MLP %d-%d-%d, batch %d, %d steps; times from the simulator's timing model\n\n",
		in, hidden, classes, batch, steps)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "card\tupload/step\tcompute/step\tbound by\tstep by step\toverlapped\tspeed-up\t")
	for _, p := range ps {
		bound := "the link"
		if p.compute > p.upload {
			bound = "compute"
		}
		fmt.Fprintf(tw, "%s\t%v\t%v\t%s\t%v\t%v\t%.2fx\t\n", p.card.name, p.upload, p.compute, bound,
			p.serial, p.overlapped, float64(p.serial)/float64(p.overlapped))
	}
	return tw.Flush()
}

func run(out io.Writer) error {
	ps, err := predict()
	if err != nil {
		return err
	}
	return report(out, ps)
}
