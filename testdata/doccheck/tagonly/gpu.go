//go:build cuda

package tagonly

func OnlyOnAGPU() {}
