package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Exit codes of run.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as a shell reports it
)

// A command is one subcommand. Each lives in a file of its own that
// registers it from an init function, so adding a subcommand is adding a
// file.
type command struct {
	name    string // as typed: "demo"
	summary string // one line for the command list
	args    string // synopsis of the non-flag arguments, if any
	// setup defines the command's flags on fs and returns the function
	// that runs the command once the flags are parsed. The function gets
	// the remaining arguments; it returns a usageError for bad input that
	// flags could not catch, and ctx's error (wrapped or not) when it
	// stopped because ctx was cancelled, after printing a summary of what
	// ran.
	setup func(fs *flag.FlagSet) func(ctx context.Context, out io.Writer, progress io.Writer, args []string) error
}

// commands is the registry, filled by init functions before main runs and
// read-only afterwards.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("coawait: command " + c.name + " registered twice")
	}
	commands[c.name] = c
}

// usageError is bad usage: run prints it with the usage and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run runs the command line args (without the program name), writing
// results to stdout and progress, usage and errors to stderr, and returns
// the exit code. Cancelling ctx stops the command (exit code 130).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "coawait: no command given")
		mainUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		mainUsage(stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "coawait: unknown command %q\n", args[0])
		mainUsage(stderr)
		return exitUsage
	}
	fs := flag.NewFlagSet("coawait "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	exec := c.setup(fs)
	fs.Usage = func() {} // printed below, to stdout for -h
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, c, fs)
			return exitOK
		}
		commandUsage(stderr, c, fs) // flag has printed the error
		return exitUsage
	}
	err := exec(ctx, stdout, stderr, fs.Args())
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "coawait %s: %v\n", c.name, err)
		commandUsage(stderr, c, fs)
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintf(stderr, "coawait %s: interrupted\n", c.name)
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "coawait %s: %v\n", c.name, err)
	return exitFailure
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: coawait <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'coawait <command> -h' for a command's flags.")
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	synopsis := strings.TrimSpace("coawait " + c.name + " [flags] " + c.args)
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
