// Package link hands package cuda's backend-only functions to package
// cuda/internal/kit. Package cuda cannot import kit, which imports cuda, so
// cuda stores its functions here from an init function, and kit takes
// them out, with their types, when it is initialised (after cuda, which it
// imports). Nothing else should import link.
package link

// Funcs are package cuda's backend-only functions by name. Written once by
// cuda's init, read only after.
var Funcs = map[string]any{}
