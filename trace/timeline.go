package trace

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // png
	_ "gonum.org/v1/plot/vg/vgsvg" // svg
)

// ErrFormat is returned for a timeline format other than "svg" or "png".
var ErrFormat = errors.New("trace: unsupported timeline format (want .svg or .png)")

// SaveTimeline draws spans as a timeline (see WriteTimeline) into the file
// at path, in the format its extension names: .svg or .png. The file is
// written in full or not at all: the picture goes to a temporary file
// beside it that is renamed into place.
func SaveTimeline(path, title string, spans []Span) (err error) {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if format != "svg" && format != "png" {
		return fmt.Errorf("trace: SaveTimeline %s: %w", path, ErrFormat)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".timeline-*")
	if err != nil {
		return fmt.Errorf("trace: SaveTimeline: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = WriteTimeline(tmp, format, title, spans); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return fmt.Errorf("trace: SaveTimeline: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("trace: SaveTimeline: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("trace: SaveTimeline: %w", err)
	}
	return nil
}

// WriteTimeline draws spans as a timeline picture in format ("svg" or
// "png") to w: one panel per group, stacked, each with one row of bars
// per lane (host lanes on top, then the device's streams) over the time
// since the group's first span, in milliseconds. All panels share the time
// axis, so a faster run is a shorter panel. Each lane has its own color, the
// same in every panel; bars of spans that failed are red. No drawable
// spans is an error.
func WriteTimeline(w io.Writer, format, title string, spans []Span) error {
	if format != "svg" && format != "png" {
		return fmt.Errorf("trace: WriteTimeline %q: %w", format, ErrFormat)
	}
	l := arrange(spans)
	if len(l.groups) == 0 {
		return errors.New("trace: WriteTimeline: no spans to draw")
	}
	var longest time.Duration
	maxLanes := 0
	colors := map[string]color.Color{}
	for _, g := range l.groups {
		longest = max(longest, g.end.Sub(g.origin))
		maxLanes = max(maxLanes, len(g.lanes))
		for _, ln := range g.lanes {
			if _, ok := colors[ln.name]; !ok {
				colors[ln.name] = palette[len(colors)%len(palette)]
			}
		}
	}
	xmax := ms(longest) * 1.02
	if xmax <= 0 {
		xmax = 1
	}
	plots := make([][]*plot.Plot, len(l.groups))
	for i, g := range l.groups {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: %s", g.name, fmtDur(g.end.Sub(g.origin)))
		if i == 0 && title != "" {
			p.Title.Text = title + "\n" + p.Title.Text
		}
		p.X.Label.Text = "time since the run's first span (ms)"
		p.X.Min, p.X.Max = 0, xmax
		names := make([]string, len(g.lanes))
		for j, ln := range g.lanes {
			names[len(g.lanes)-1-j] = ln.name // first lane on top
		}
		p.NominalY(names...)
		p.Y.Min, p.Y.Max = -0.5, float64(maxLanes)-0.5
		p.Add(plotter.NewGrid())
		p.Add(&bars{g: g, colors: colors})
		plots[i] = []*plot.Plot{p}
	}
	width := 8 * vg.Inch
	height := vg.Length(len(l.groups)) * (vg.Length(maxLanes)*0.42*vg.Inch + 1.1*vg.Inch)
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("trace: WriteTimeline: %w", err)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(l.groups), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4),
		PadLeft: vg.Points(4), PadRight: vg.Points(12), PadY: vg.Points(10)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("trace: WriteTimeline: %w", err)
	}
	return nil
}

// palette holds distinguishable colors (Okabe and Ito's, safe for color
// blindness), one per lane.
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{240, 228, 66, 255},  // yellow
	color.RGBA{0, 0, 0, 255},       // black
}

var failed = color.RGBA{213, 0, 0, 255}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

// bars is the plotter of one group: a bar per span, in its lane's row.
type bars struct {
	g      *groupLayout
	colors map[string]color.Color
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(b.g.lanes)
	edge := draw.LineStyle{Color: color.White, Width: vg.Points(0.4)}
	for j, ln := range b.g.lanes {
		row := float64(n - 1 - j)
		y0, y1 := trY(row-0.34), trY(row+0.34)
		for _, s := range ln.spans {
			x0 := trX(ms(s.Start.Sub(b.g.origin)))
			x1 := trX(ms(s.End.Sub(b.g.origin)))
			if x1-x0 < vg.Points(0.5) {
				x1 = x0 + vg.Points(0.5) // keep short work visible
			}
			pts := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
			clr := b.colors[ln.name]
			if s.Err != nil {
				clr = failed
			}
			c.FillPolygon(clr, c.ClipPolygonXY(pts))
			if x1-x0 > vg.Points(2) {
				c.StrokeLines(edge, c.ClipLinesXY(append(pts, pts[0]))...)
			}
		}
	}
}
