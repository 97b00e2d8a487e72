package bad

const Bare = 1

const (
	// GroupA has a comment of its own.
	GroupA = iota
	GroupB
)

var Loose int

type Thing struct{}

func NewThing() *Thing { return nil }

func (*Thing) Do() {}

// unexported methods and names are not checked.
func (*Thing) do() {}

func Plain() {}

type hidden struct{}

// Exported is a method of an unexported type: go doc does not show it.
func (hidden) Exported() {}

// Linked points at [Nowhere] and at [Thing.Gone], which do not exist, and
// at [Thing] and [Thing.Do], which do.
func Linked() {}
