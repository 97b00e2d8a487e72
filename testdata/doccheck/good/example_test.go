package good_test

import "fmt"

func Example() {
	fmt.Println("good")
	// Output: good
}
