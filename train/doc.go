// Package train trains the mlp model on a device: the forward and backward
// passes and the SGD update are kernels of cuda/kernels launched through a
// scheduler, the batches come from a loader, and the host→device copy of
// the next batch overlaps the current step on another stream. The same
// code runs on the simulated GPU of cuda/sim (the kernels' Go bodies) and,
// in a build with -tags cuda, on a real one (their PTX).
//
// A step is fifteen device operations submitted without a host round trip:
//
//	wait for the batch's copy (on the device)      x, y
//	h1 = relu(x·W1 + b1)                           sgemm, bias add, relu
//	logits = h1·W2 + b2                            sgemm, bias add
//	correct += argmax(logits) == y                 argmax count
//	loss, dlogits = softmax cross-entropy          softmax_xent
//	dW2 = h1ᵀ·dlogits, db2 = Σ dlogits             sgemm, column sums
//	dh = (dlogits·W2ᵀ) ⊙ [h1 > 0]                  sgemm, relu gradient
//	dW1 = xᵀ·dh, db1 = Σ dh                        sgemm, column sums
//	v = μv − η·grad; w += v                        one SGD launch over all parameters
//
// and the batch goes back to the loader ordered after the step's last read
// of it, on the device. The per-row losses and the correct count stay on
// the device and are copied back once every Config.ReadEvery steps; the
// host reads a window's figures while the device fills the next one, so the
// loop never waits for the device to drain.
//
// [Run] is the whole job (training epochs, a test pass after each,
// atomic checkpoints, resume, cancellation) that `coawait train` drives.
package train
