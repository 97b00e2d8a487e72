package sim

import (
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/internal/kit"
)

// NewStream creates a stream and starts its goroutine.
func (d *Device) NewStream(priority int) (cuda.Stream, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked("NewStream"); err != nil {
		return nil, err
	}
	if err := d.faultLocked(OpNewStream, nil); err != nil {
		return nil, err
	}
	s := &Stream{
		d:      d,
		prio:   d.props.ClampPriority(priority),
		slow:   1,
		notify: make(chan struct{}, 1),
		order:  kit.NewQueue(),
	}
	d.streams[s] = struct{}{}
	d.wg.Add(1)
	go s.run()
	return s, nil
}

// NewEvent creates an event.
func (d *Device) NewEvent(flags cuda.EventFlags) (cuda.Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked("NewEvent"); err != nil {
		return nil, err
	}
	if flags&^cuda.EventDisableTiming != 0 {
		return nil, kit.Errorf("NewEvent", cuda.ErrInvalidValue, "unknown flags %#x", uint32(flags))
	}
	if err := d.faultLocked(OpNewEvent, nil); err != nil {
		return nil, err
	}
	return &Event{d: d, timing: flags&cuda.EventDisableTiming == 0}, nil
}

// event checks that e is a live event of d.
func (d *Device) event(op string, e cuda.Event) (*Event, error) {
	ev, ok := e.(*Event)
	if !ok || ev == nil || ev.d != d {
		return nil, kit.Errorf(op, cuda.ErrForeign, "event is not from this device")
	}
	return ev, nil
}

// ElapsedTime returns end's timestamp minus start's, from the timing model.
func (d *Device) ElapsedTime(start, end cuda.Event) (time.Duration, error) {
	const op = "ElapsedTime"
	if d.closed.Load() {
		return 0, d.closedError(op)
	}
	if err := d.lostErr(); err != nil {
		return 0, err
	}
	var ms [2]*mark
	for i, ev := range [2]cuda.Event{start, end} {
		what := [2]string{"start", "end"}[i]
		e, ok := ev.(*Event)
		if !ok || e == nil || e.d != d {
			return 0, kit.Errorf(op, cuda.ErrForeign, "%s event is not from this device", what)
		}
		if e.closedFlag.Load() {
			return 0, kit.Errorf(op, cuda.ErrClosed, "%s event is closed", what)
		}
		if !e.timing {
			return 0, kit.Errorf(op, cuda.ErrInvalidValue, "%s event was created with EventDisableTiming", what)
		}
		m := e.m.Load()
		if m == nil {
			return 0, kit.Errorf(op, cuda.ErrInvalidValue, "%s event was never recorded", what)
		}
		select {
		case <-m.done:
			if m.err != nil {
				return 0, m.err
			}
		default:
			return 0, kit.Errorf(op, cuda.ErrNotReady, "%s event is not done", what)
		}
		ms[i] = m
	}
	return ms[1].t - ms[0].t, nil
}

// Kernel looks up a registered kernel.
func (d *Device) Kernel(module, name string) (cuda.Kernel, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked("Kernel"); err != nil {
		return nil, err
	}
	k, ok := d.kernels[kernelKey{module, name}]
	if !ok {
		return nil, kit.Errorf("Kernel", cuda.ErrNotFound, "no kernel %q in module %q", name, module)
	}
	return k, nil
}

// RegisterKernel adds a kernel to the device. Registering a module and name
// twice is an error.
func (d *Device) RegisterKernel(def KernelDef) error {
	const op = "RegisterKernel"
	if def.Spec.Module == "" || def.Spec.Name == "" {
		return kit.Errorf(op, cuda.ErrInvalidValue, "empty module or kernel name")
	}
	if def.Run == nil {
		return kit.Errorf(op, cuda.ErrInvalidValue, "kernel %s has no Run function", def.Spec.Name)
	}
	for i, p := range def.Spec.Params {
		if p.Kind <= cuda.ParamInvalid || p.Kind > cuda.ParamFloat64 {
			return kit.Errorf(op, cuda.ErrInvalidValue, "kernel %s parameter %d has invalid kind %v", def.Spec.Name, i, p.Kind)
		}
	}
	def.Spec.Params = append([]cuda.Param(nil), def.Spec.Params...)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usableLocked(op); err != nil {
		return err
	}
	key := kernelKey{def.Spec.Module, def.Spec.Name}
	if _, dup := d.kernels[key]; dup {
		return kit.Errorf(op, cuda.ErrInvalidValue, "kernel %q already registered in module %q", def.Spec.Name, def.Spec.Module)
	}
	d.kernels[key] = &Kernel{d: d, def: def, op: "Launch " + def.Spec.Name}
	return nil
}
