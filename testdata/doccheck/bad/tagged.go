//go:build cuda

package bad

func Tagged() {}
