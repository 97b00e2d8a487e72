package cuda

import "github.com/coawait/coawait/cuda/internal/link"

// init hands the functions only backends call to package
// cuda/internal/kit (see its package doc for why they travel this way).
func init() {
	for name, f := range map[string]any{
		"newHostBuffer": newHostBuffer,
		"acquire":       (*HostBuffer).acquire,
		"release":       (*HostBuffer).release,
		"markFreed":     (*HostBuffer).markFreed,
		"invalidate":    (*HostBuffer).invalidate,
		"withOp":        withOp,
		"checkRange":    checkRange,
		"checkArgs":     checkArgs,
		"validate":      LaunchConfig.validate,
		"alignedBytes":  alignedBytes,
	} {
		link.Funcs[name] = f
	}
}
