// Package modreg is the registry of kernel modules (PTX plus the kernels'
// parameter lists) that the real GPU backend in package cuda loads on
// demand. Package cuda/kernels fills it in its init, so every program that
// imports the built-in kernels can look them up on a GPU with
// Device.Kernel, as it can on the simulator. It imports nothing, so that
// package cuda can read it without an import cycle; parameter kinds are
// cuda.ParamKind values stored as uint8.
package modreg

import (
	"fmt"
	"sync"
)

// Param is one kernel parameter: its name and its cuda.ParamKind.
type Param struct {
	Name string
	Kind uint8
}

// Kernel is one kernel of a module: its entry name in the PTX, its
// parameters, and optionally a check of a launch's arguments.
type Kernel struct {
	Name   string
	Params []Param
	// Check, if not nil, is a
	//	func(op string, spec *cuda.KernelSpec, cfg cuda.LaunchConfig, args []cuda.Arg, sizes []int) error
	// (typed any here, since this package cannot import cuda) that checks
	// a launch before it is queued; sizes holds, per argument, the bytes
	// from a pointer argument to the end of its allocation (0 for the
	// others). Package cuda ignores a Check of another type.
	Check any
}

// Module is a named PTX module and the kernels it defines.
type Module struct {
	Name    string
	PTX     []byte
	Kernels []Kernel
}

var (
	mu      sync.RWMutex
	modules = map[string]*Module{} // guarded by mu; values never change once stored
)

// Register adds m. Registering a name twice panics: modules are registered
// from init functions, so a duplicate is a programming error.
func Register(m Module) {
	if m.Name == "" || len(m.PTX) == 0 {
		panic("modreg: Register of a module without a name or PTX")
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := modules[m.Name]; dup {
		panic(fmt.Sprintf("modreg: module %q registered twice", m.Name))
	}
	modules[m.Name] = &m
}

// Lookup returns the module registered under name.
func Lookup(name string) (*Module, bool) {
	mu.RLock()
	defer mu.RUnlock()
	m, ok := modules[name]
	return m, ok
}
