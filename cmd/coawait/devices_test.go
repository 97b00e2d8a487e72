package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/coawait/coawait/cuda"
	"github.com/coawait/coawait/cuda/sim"
)

func TestDevices(t *testing.T) {
	code, out, errOut := runArgs(context.Background(), "devices")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, w := range []string{"-device sim", "H100", "copy engines", "9.0", "\ncuda: "} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// With GPUs (here: simulated devices standing in for the driver), each
// is listed under its -device name.
func TestListDevicesWithGPUs(t *testing.T) {
	var b strings.Builder
	count := func() (int, error) { return 2, nil }
	open := func(i int) (cuda.Device, error) { return sim.New(sim.Config{Name: "GPU " + string(rune('A'+i))}), nil }
	if err := listDevices(&b, count, open); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`-device cuda:0\s+GPU A\n`, `-device cuda:1\s+GPU B\n`} {
		if !regexp.MustCompile(w).MatchString(b.String()) {
			t.Errorf("output lacks %q:\n%s", w, b.String())
		}
	}
	openErr := errors.New("no such device")
	err := listDevices(&b, count, func(int) (cuda.Device, error) { return nil, openErr })
	if !errors.Is(err, openErr) || !strings.Contains(err.Error(), "open GPU 0") {
		t.Fatalf("open failure: %v", err)
	}
	b.Reset()
	if err := listDevices(&b, func() (int, error) { return 0, nil }, open); err != nil || !strings.Contains(b.String(), "no GPUs") {
		t.Fatalf("zero GPUs: %v\n%s", err, b.String())
	}
}
