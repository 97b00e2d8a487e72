// Command coawait runs coawait's demos and tools on a simulated or a real
// GPU:
//
//	coawait demo      load the next batch while the device computes on this one
//	coawait devices   the devices this build can open, and their properties
//
// Run `coawait -h` for the list, `coawait CMD -h` for a command's flags.
// Results go to standard output, progress to standard error. Exit codes:
// 0 success, 1 failure, 2 bad usage, 130 interrupted (Ctrl-C: the work in
// flight stops, and the command prints a summary of what ran).
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
