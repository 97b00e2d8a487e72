//go:build cuda

package good

// Tagged is documented.
func Tagged() {}
