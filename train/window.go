package train

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/scheduler"
)

// window is one readback window: the losses and the correct count of up to
// Config.ReadEvery steps in device memory, the pinned buffer they are
// copied back to, and the events that time the steps. Two windows
// alternate: while the device fills one, the host reads the other.
type window struct {
	dev   cuda.DevicePtr                  // ReadEvery×Batch float32 losses, then one int32 count; owned by the Trainer
	host  *cuda.HostBuffer                // the same layout, pinned
	rb    *scheduler.Op[*cuda.HostBuffer] // the pending (or last) readback
	rows  []int                           // the samples of each step in the window so far
	start cuda.Event                      // recorded on the compute stream before the first step
	ready []cuda.Event                    // per step: the compute stream has the batch (after its wait)
	end   []cuda.Event                    // per step: the step is done
	batch int
	count int // offset of the count, in bytes
}

// windowBytes is the size of a window's device and host memory.
func windowBytes(cfg Config) int { return 4*cfg.ReadEvery*cfg.Batch + 4 }

func (w *window) init(dev cuda.Device, p cuda.DevicePtr, cfg Config) error {
	w.dev, w.batch, w.count = p, cfg.Batch, 4*cfg.ReadEvery*cfg.Batch
	hb, err := dev.AllocHost(windowBytes(cfg))
	if err != nil {
		return fmt.Errorf("train: pinned readback buffer: %w", err)
	}
	w.host = hb
	w.rows = make([]int, 0, cfg.ReadEvery)
	newEv := func() (cuda.Event, error) {
		ev, err := dev.NewEvent(0)
		if err != nil {
			return nil, fmt.Errorf("train: timing event: %w", err)
		}
		return ev, nil
	}
	if w.start, err = newEv(); err != nil {
		return err
	}
	for range cfg.ReadEvery {
		r, err := newEv()
		if err != nil {
			return err
		}
		w.ready = append(w.ready, r)
		e, err := newEv()
		if err != nil {
			return err
		}
		w.end = append(w.end, e)
	}
	return nil
}

func (w *window) free(dev cuda.Device) error {
	var errs []error
	if w.host != nil {
		errs = append(errs, dev.FreeHost(w.host))
	}
	for _, ev := range append(append([]cuda.Event{w.start}, w.ready...), w.end...) {
		if ev != nil {
			errs = append(errs, ev.Close())
		}
	}
	return errors.Join(errs...)
}

// wallClock is the simulator's extension of an event: the host time at
// which its stream reached it.
type wallClock interface {
	CompletedAt() (time.Time, bool)
}

// span is the time between two completed events of the compute stream:
// on the host's clock where the device reports when its streams reached
// events (the simulator, whose kernels run on the host: there that is when
// the simulated work really happened), on the device's clock otherwise.
func (t *Trainer) span(a, b cuda.Event) time.Duration {
	if t.wallClocked {
		ta, ok1 := a.(wallClock).CompletedAt()
		tb, ok2 := b.(wallClock).CompletedAt()
		if ok1 && ok2 {
			return tb.Sub(ta)
		}
	}
	d, _ := t.dev.ElapsedTime(a, b)
	return d
}

// open starts filling the current window: it zeroes its count on the
// compute stream, once the window's last readback is done.
func (t *Trainer) open(w *window) error {
	var after scheduler.OpOption
	if w.rb != nil {
		after = scheduler.After(w.rb)
	}
	t.last = t.s.Memset(w.dev, w.count, 4, 0, scheduler.OnStream(t.st), after)
	if err := failed(t.last); err != nil {
		return err
	}
	if err := t.st.RecordEvent(w.start); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// rotate submits the readback of the current window, switches to the
// other one and, if that one holds steps, collects their figures: one
// window after they were asked for, so the host does not wait for the
// device to drain.
func (t *Trainer) rotate(ctx context.Context, s *Stats) error {
	w := &t.win[t.cur]
	w.rb = t.s.CopyDtoH(w.host, 0, w.dev, 0, w.host.Len(), scheduler.After(t.last))
	t.cur ^= 1
	if o := &t.win[t.cur]; len(o.rows) > 0 {
		return t.collect(ctx, o, s)
	}
	return nil
}

// flush reads back every window that holds steps.
func (t *Trainer) flush(ctx context.Context, s *Stats) error {
	if len(t.win[t.cur].rows) > 0 {
		if err := t.rotate(ctx, s); err != nil {
			return err
		}
	}
	if o := &t.win[t.cur^1]; len(o.rows) > 0 {
		return t.collect(ctx, o, s)
	}
	return nil
}

// collect awaits w's readback and adds its figures to s.
func (t *Trainer) collect(ctx context.Context, w *window, s *Stats) error {
	if _, err := w.rb.Await(ctx); err != nil {
		return fmt.Errorf("train: reading the loss back: %w", err)
	}
	b, err := w.host.Bytes()
	if err != nil {
		return err
	}
	loss, err := cuda.SliceOf[float32](b[:w.count])
	if err != nil {
		return err
	}
	count, err := cuda.SliceOf[int32](b[w.count : w.count+4])
	if err != nil {
		return err
	}
	for i, n := range w.rows {
		for _, v := range loss[i*w.batch : i*w.batch+n] {
			s.Loss += float64(v)
		}
		s.Samples += n
	}
	s.Correct += int(count[0])
	s.Steps += len(w.rows)
	// The readback followed the last step on the device; its end event
	// was recorded right after it.
	if err := w.end[len(w.rows)-1].Synchronize(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	prev := w.start
	for i := range w.rows {
		s.ComputeWait += max(t.span(prev, w.ready[i]), 0)
		s.Compute += t.span(prev, w.end[i])
		d, err := t.dev.ElapsedTime(prev, w.end[i])
		if err != nil {
			return fmt.Errorf("train: timing a step: %w", err)
		}
		busy, err := t.dev.ElapsedTime(w.ready[i], w.end[i])
		if err != nil {
			return fmt.Errorf("train: timing a step: %w", err)
		}
		s.Device += d
		s.DeviceBusy += busy
		prev = w.end[i]
	}
	w.rows = w.rows[:0]
	return nil
}

// abandon waits for the pending readbacks after an error and empties both
// windows, so that the trainer can be used again (or closed).
func (t *Trainer) abandon() {
	for i := range t.win {
		w := &t.win[i]
		if w.rb != nil {
			w.rb.Await(context.Background()) // device work always settles
		}
		w.rows = w.rows[:0]
	}
	t.cur = 0
}

// failed returns op's error if op has already failed: operations that the
// device refuses (bad arguments) fail at once, and a step that goes on
// after one would compute garbage.
func failed[T any](op *scheduler.Op[T]) error {
	if err := op.Err(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
