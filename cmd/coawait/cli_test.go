package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runArgs runs the command line and returns its exit code, stdout and
// stderr.
func runArgs(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr []string
	}{
		{nil, []string{"no command given", "Usage: coawait <command>", "demo", "devices"}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`, "Usage: coawait <command>"}},
		{[]string{"demo", "-nope"}, []string{"flag provided but not defined: -nope", "Usage: coawait demo", "-steps"}},
		{[]string{"demo", "-steps", "x"}, []string{`invalid value "x" for flag -steps`, "Usage: coawait demo"}},
		{[]string{"demo", "-steps", "0"}, []string{"-steps must be at least 1, got 0", "Usage: coawait demo"}},
		{[]string{"demo", "-depth", "0"}, []string{"-depth must be at least 1", "Usage: coawait demo"}},
		{[]string{"demo", "-load", "-1ms"}, []string{"must not be negative", "Usage: coawait demo"}},
		{[]string{"demo", "-timeline", "t.gif"}, []string{`-timeline "t.gif": want a .svg or .png file`}},
		{[]string{"demo", "-device", "tpu"}, []string{`-device "tpu": want sim, cuda or cuda:N`}},
		{[]string{"demo", "-device", "cuda:x"}, []string{`-device "cuda:x": want cuda:N`}},
		{[]string{"demo", "-policy", "lazy"}, []string{`invalid value "lazy" for flag -policy: want one of adaptive, spin, blocking, host-callback`}},
		{[]string{"demo", "-gotrace"}, []string{"-gotrace needs -trace FILE"}},
		{[]string{"demo", "extra"}, []string{`unexpected arguments ["extra"]`}},
		{[]string{"devices", "-x"}, []string{"flag provided but not defined: -x", "Usage: coawait devices"}},
		{[]string{"devices", "extra"}, []string{`unexpected arguments ["extra"]`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runArgs(context.Background(), tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// -h prints the usage to stdout and succeeds, for the command list and
// for every command.
func TestHelp(t *testing.T) {
	code, out, _ := runArgs(context.Background(), "-h")
	if code != exitOK || !strings.Contains(out, "Commands:") {
		t.Fatalf("-h: exit %d, stdout %q", code, out)
	}
	for name, c := range commands {
		code, out, errOut := runArgs(context.Background(), name, "-h")
		if code != exitOK || errOut != "" {
			t.Errorf("%s -h: exit %d, stderr %q", name, code, errOut)
		}
		if !strings.Contains(out, "Usage: coawait "+name) || !strings.Contains(out, c.summary) {
			t.Errorf("%s -h: stdout %q", name, out)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "coawait: command demo registered twice") {
			t.Fatalf("recovered %v", r)
		}
	}()
	register(&command{name: "demo"})
}
