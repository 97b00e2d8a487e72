// Package good documents everything the check looks for.
package good

// Bare is one.
const Bare = 1

// The group's comment covers both.
const (
	GroupA = iota
	GroupB
)

var (
	// Loose is documented on its spec.
	Loose int
	Line  int // Line has a line comment.
)

// Thing is documented.
type Thing[T any] struct{}

// NewThing is documented.
func NewThing() *Thing[int] { return nil }

// Do is documented.
func (*Thing[T]) Do() {}

// Linked points at [Thing], [Thing.Do], [NewThing], [fmt.Println] and
// [*Thing]; m[k] and a[Bare] are indexing, not links.
func Linked() {}
