package trace

import (
	"slices"
	"time"
)

// layout is the arrangement of spans that both exporters draw: groups in
// the order they first appear; in each group the host lanes in the order
// they first appear, then the device lanes sorted by name (so streams come
// out as stream 0, 1, 2).
type layout struct {
	groups []*groupLayout
	origin time.Time // the earliest start of a drawable span
}

type groupLayout struct {
	name   string
	lanes  []*laneLayout
	origin time.Time // the group's earliest start
	end    time.Time // the group's latest end
}

type laneLayout struct {
	name   string
	device bool
	spans  []Span
}

// arrange builds the layout of spans, skipping spans that end before they
// start. It returns an empty layout for no drawable spans.
func arrange(spans []Span) *layout {
	l := &layout{}
	groups := map[string]*groupLayout{}
	lanes := map[[2]string]*laneLayout{}
	for _, s := range spans {
		if s.End.Before(s.Start) {
			continue
		}
		g := groups[s.group()]
		if g == nil {
			g = &groupLayout{name: s.group(), origin: s.Start, end: s.End}
			groups[g.name] = g
			l.groups = append(l.groups, g)
		}
		key := [2]string{g.name, s.lane()}
		ln := lanes[key]
		if ln == nil {
			ln = &laneLayout{name: s.lane(), device: s.Device}
			lanes[key] = ln
			g.lanes = append(g.lanes, ln)
		}
		ln.device = ln.device || s.Device
		ln.spans = append(ln.spans, s)
		if s.Start.Before(g.origin) {
			g.origin = s.Start
		}
		if s.End.After(g.end) {
			g.end = s.End
		}
		if l.origin.IsZero() || s.Start.Before(l.origin) {
			l.origin = s.Start
		}
	}
	for _, g := range l.groups {
		slices.SortStableFunc(g.lanes, func(a, b *laneLayout) int {
			switch {
			case a.device != b.device:
				if a.device {
					return 1
				}
				return -1
			case a.device:
				return compareNatural(a.name, b.name)
			}
			return 0
		})
	}
	return l
}

// compareNatural compares strings with runs of digits compared as numbers,
// so that "stream 10" sorts after "stream 2".
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := a[:da], b[:db]
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
