// Package mlp is the model of coawait's deep-learning job: a two-layer
// perceptron In-Hidden-Out (784-H-10 for MNIST) with a ReLU, a softmax
// cross-entropy loss and SGD with momentum.
//
// It holds what every trainer of that model shares:
//
//   - Shape and Layout: the parameters W1, b1, W2, b2 in one flat float32
//     vector, so that a gradient and a momentum vector share the layout
//     and the SGD update is one pass (one kernel launch on a device);
//   - Layout.Init: He initialisation for W1, Glorot for W2, from a seed;
//   - Reference: a plain Go trainer on gonum's BLAS, one batch after
//     another with no futures and no overlap, the baseline that the device
//     trainer is measured against and the oracle its results are checked
//     against;
//   - Checkpoint: parameters, momentum, epoch, shape and seed, saved
//     atomically (a temporary file in the same directory, fsync, rename), so
//     that an interrupted run leaves either the old or the new checkpoint,
//     never a partial one; a resume refuses a checkpoint of another shape.
//
// Nothing in this package starts a goroutine.
package mlp
