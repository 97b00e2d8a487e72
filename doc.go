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
// A first program, with the simulated GPU that every machine has:
//
//	ctx := context.Background()
//	batch := async.Go(ctx, loadBatch)   // starts at once
//	out := async.Go(ctx, computeStep)   // runs at the same time
//	both, err := future.All(batch, out).Await(ctx)
//
// The module's tests check that every exported name of these packages has
// a doc comment (doccheck_test.go). The tutorials are in the docs folder
// of the repository, and docs/benchmarks.md holds the measured figures.
package coawait
