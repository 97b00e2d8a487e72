package bad_test

import "fmt"

// An example without an Output comment is compiled but never run.
func Example() {
	fmt.Println("bad")
}
