// Package coawait holds no code: it is the module's front page. The
// library is in its packages, each with its own documentation:
//
//   - future: Future[T] and Promise[T], Await (co_await), combinators.
//   - async: tasks, structured scopes, generators (co_yield), Prefetch and
//     ParallelMap.
//   - cuda: the device model (devices, streams, events, memory, kernels);
//     cuda/sim, a simulated GPU in pure Go; cuda/kernels, the kernels;
//     cuda/cudatest, the conformance suite of a backend.
//   - scheduler: the event loop that turns device work into futures.
//   - loader, mnist, trace: batches onto the device, the MNIST files, and
//     timelines of what ran when.
//
// Two tasks started together and awaited together, as co_await
// when_all(load(), compute()) would (the package's Example runs it):
//
//	ctx := context.Background()
//	batch := async.Go(ctx, loadBatch)   // starts at once
//	out := async.Go(ctx, computeStep)   // runs at the same time
//	both, err := future.All(batch, out).Await(ctx)
//
// Device work becomes futures the same way, through a scheduler, on a
// real GPU (-tags cuda) or on the simulated one that every machine has:
//
//	dev := sim.New(sim.Config{Mode: sim.Modeled}) // an H100 on PCIe, in pure Go
//	s, _ := scheduler.New(dev)
//	up := s.CopyHtoD(x, 0, batch, 0, n)                          // returns at once
//	k := s.Launch(scale, cfg, args, scheduler.After(up))          // waits on the GPU, not the host
//	_, err = s.CopyDtoH(result, 0, x, 0, n, scheduler.After(k)).Await(ctx)
//
// The command coawait (go run ./cmd/coawait demo) runs a training loop's
// loading and compute overlapped, timed against the same loop step by
// step. The module's tests check that every exported name of these
// packages has a doc comment (doccheck_test.go). The tutorials are in the
// repository's docs folder, and docs/benchmarks.md holds the measured
// figures.
package coawait
