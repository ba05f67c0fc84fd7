package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The plot subcommand draws a run's results as PNG, with gonum's plot:
//
//	qrlogin-load plot latency -o push.png [-target 20] [LABEL=]samples.jsonl ...
//	qrlogin-load plot rss -o rss.png [-extrapolate 50000] [-limit 1536] rss.csv
//
// latency: the distribution of push latency from -samples files, as a CDF
// on a log-scaled latency axis whose percentile axis is stretched toward
// the tail (50%, 90%, 99%, 99.9% are equally spaced), one line per file
// and kind (ws, longpoll) and type (scanned, confirmed).
//
// rss: the server's RSS against waiting desktops from a CSV with the
// columns waiting and rss_mib (a header line names them; other columns are
// ignored), with the least-squares line through the points, drawn on to
// -extrapolate desktops, and a -limit line.

// runPlot runs the plot subcommand; it returns the exit code.
func runPlot(args []string, stdout, stderr io.Writer) int {
	usage := "Usage: qrlogin-load plot latency -o OUT.png [flags] [LABEL=]SAMPLES.jsonl ...\n       qrlogin-load plot rss -o OUT.png [flags] RSS.csv\n"
	if len(args) == 0 || (args[0] != "latency" && args[0] != "rss") {
		fmt.Fprint(stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	what := args[0]
	fs := flag.NewFlagSet("qrlogin-load plot "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "the PNG `file` to write")
	title := fs.String("title", "", "the plot's title")
	width := fs.Int("width", 900, "width in `pixels`")
	height := fs.Int("height", 560, "height in `pixels`")
	var lo latencyOpts
	var ro rssOpts
	if what == "latency" {
		fs.StringVar(&lo.Type, "type", "all", "event `type` to draw: scanned, confirmed or all")
		fs.StringVar(&lo.Kind, "kind", "all", "desktop `kind` to draw: ws, longpoll or all")
		fs.Float64Var(&lo.Target, "target", 0, "draw a target line at this many `ms` (0: none)")
		fs.BoolVar(&lo.SplitCross, "split-cross", false, "several nodes: draw cross-node and same-node pushes apart")
	} else {
		fs.Float64Var(&ro.Extrapolate, "extrapolate", 0, "draw the fitted line on to this many waiting `desktops` (0: to the last point)")
		fs.Float64Var(&ro.LimitMiB, "limit", 0, "draw a limit line at this many `MiB` (0: none)")
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() == 0 || *width < 100 || *height < 100 {
		fs.Usage()
		return 2
	}
	var p *plot.Plot
	var err error
	if what == "latency" {
		lo.Title = *title
		p, err = latencyPlot(fs.Args(), lo)
	} else {
		ro.Title = *title
		if fs.NArg() != 1 {
			fs.Usage()
			return 2
		}
		p, err = rssPlot(fs.Arg(0), ro)
	}
	if err == nil {
		err = savePNG(p, *out, *width, *height)
	}
	if err != nil {
		fmt.Fprintln(stderr, "qrlogin-load plot:", err)
		return 1
	}
	fmt.Fprintln(stdout, *out)
	return 0
}

const plotDPI = 96

// savePNG draws p into a PNG of exactly width × height pixels.
func savePNG(p *plot.Plot, path string, width, height int) error {
	c := vgimg.NewWith(
		vgimg.UseWH(vg.Length(width)*vg.Inch/plotDPI, vg.Length(height)*vg.Inch/plotDPI),
		vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type latencyOpts struct {
	Title, Type, Kind string
	Target            float64
	SplitCross        bool
}

// series is one line of the latency plot.
type series struct {
	name string
	ms   []float64
}

// latencySeries reads the files ([LABEL=]PATH) and groups their samples.
func latencySeries(files []string, o latencyOpts) ([]series, error) {
	var out []series
	for _, arg := range files {
		label, path := "", arg
		if l, p, ok := strings.Cut(arg, "="); ok {
			label, path = l, p
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		samples, err := readSamples(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		groups := map[string][]float64{}
		var keys []string
		for _, s := range samples {
			if (o.Type != "all" && s.Type != o.Type) || (o.Kind != "all" && s.Kind != o.Kind) || s.MS <= 0 {
				continue
			}
			k := s.Kind + " " + s.Type
			if o.SplitCross && s.Cross != nil {
				if *s.Cross {
					k += ", cross-node"
				} else {
					k += ", same node"
				}
			}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], s.MS)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := k
			if label != "" {
				name = label + ": " + k
			}
			out = append(out, series{name: name, ms: groups[k]})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no samples to draw (check -type and -kind)")
	}
	return out, nil
}

// nines maps a cumulative share q (0 ≤ q < 1) to the stretched percentile
// axis: 0 for 0%, 1 for 90%, 2 for 99%, 3 for 99.9%.
func nines(q float64) float64 { return -math.Log10(1 - q) }

// cdfPoints returns the CDF of sorted samples as (ms, nines) points, thinned
// to those that move the line visibly. The i-th smallest of n is drawn at
// the share (i+0.5)/n.
func cdfPoints(sorted []float64) plotter.XYs {
	n := float64(len(sorted))
	var pts plotter.XYs
	lastX, lastY := -1.0, -1.0
	for i, x := range sorted {
		y := nines((float64(i) + 0.5) / n)
		if i == len(sorted)-1 || lastX < 0 || x > lastX*1.005 || y > lastY+0.005 {
			pts = append(pts, plotter.XY{X: x, Y: y})
			lastX, lastY = x, y
		}
	}
	return pts
}

// latencyPlot draws the CDFs of the files' samples.
func latencyPlot(files []string, o latencyOpts) (*plot.Plot, error) {
	ss, err := latencySeries(files, o)
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = o.Title
	if p.Title.Text == "" {
		p.Title.Text = "Push latency"
	}
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "share of pushes at or below"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.Y.Tick.Marker = ninesTicks{}
	p.Add(plotter.NewGrid())
	xmin, xmax, ymax := math.Inf(1), 0.0, 0.0
	for i, s := range ss {
		slices.Sort(s.ms)
		pts := cdfPoints(s.ms)
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		line.Dashes = plotutil.Dashes(i / 7)
		p.Add(line)
		p50, p99 := pct(s.ms, 50), pct(s.ms, 99)
		p.Legend.Add(fmt.Sprintf("%s: n=%d p50=%s p99=%s max=%s ms", s.name, len(s.ms), fmtMS(p50), fmtMS(p99), fmtMS(s.ms[len(s.ms)-1])), line)
		xmin = min(xmin, s.ms[0])
		xmax = max(xmax, s.ms[len(s.ms)-1])
		ymax = max(ymax, pts[len(pts)-1].Y)
	}
	if o.Target > 0 {
		t, err := plotter.NewLine(plotter.XYs{{X: o.Target, Y: 0}, {X: o.Target, Y: math.Max(ymax, 2)}})
		if err != nil {
			return nil, err
		}
		t.Color = color.Black
		t.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(t)
		p.Legend.Add(fmt.Sprintf("target %s ms", fmtMS(o.Target)), t)
		xmin, xmax = min(xmin, o.Target), max(xmax, o.Target)
	}
	p.X.Min = math.Pow(10, math.Floor(math.Log10(xmin)))
	p.X.Max = math.Pow(10, math.Ceil(math.Log10(xmax)))
	p.Y.Min = 0
	p.Y.Max = math.Max(math.Ceil(ymax), 2)
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = vg.Points(6)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p, nil
}

// pct is the nearest-rank p-th percentile of sorted.
func pct(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// logTicks labels 1, 2 and 5 of each decade, with minor ticks between.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		for m := 1; m < 10; m++ {
			v := float64(m) * d
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// ninesTicks labels the stretched percentile axis.
type ninesTicks struct{}

func (ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	labels := []struct {
		q string
		v float64
	}{{"0%", 0}, {"50%", 0.5}, {"90%", 0.9}, {"99%", 0.99}, {"99.9%", 0.999}, {"99.99%", 0.9999}, {"99.999%", 0.99999}, {"99.9999%", 0.999999}}
	var ts []plot.Tick
	for _, l := range labels {
		if y := nines(l.v); y >= lo-1e-9 && y <= hi+1e-9 {
			ts = append(ts, plot.Tick{Value: y, Label: l.q})
		}
	}
	return ts
}

type rssOpts struct {
	Title       string
	Extrapolate float64
	LimitMiB    float64
}

// rssSeries is one set of points of the RSS plot.
type rssSeries struct {
	name string
	pts  plotter.XYs
}

// readRSS reads a CSV of waiting,rss_mib rows (the header may name the
// columns in any order, and a series column splits the rows into several
// lines; without a header the columns are waiting and rss_mib).
func readRSS(path string) ([]rssSeries, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	wi, ri, si := 0, 1, -1
	if len(rows) > 0 {
		if _, err := strconv.ParseFloat(strings.TrimSpace(rows[0][0]), 64); err != nil {
			wi, ri = -1, -1
			for i, h := range rows[0] {
				switch strings.TrimSpace(h) {
				case "waiting":
					wi = i
				case "rss_mib":
					ri = i
				case "series":
					si = i
				}
			}
			if wi < 0 || ri < 0 {
				return nil, fmt.Errorf("%s: the header names no waiting and rss_mib columns", path)
			}
			rows = rows[1:]
		}
	}
	var out []rssSeries
	index := map[string]int{}
	for n, row := range rows {
		if len(row) <= max(wi, ri, si) {
			return nil, fmt.Errorf("%s: row %d: too few columns", path, n+1)
		}
		w, err1 := strconv.ParseFloat(strings.TrimSpace(row[wi]), 64)
		m, err2 := strconv.ParseFloat(strings.TrimSpace(row[ri]), 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: row %d: not numbers: %q", path, n+1, row)
		}
		name := ""
		if si >= 0 {
			name = strings.TrimSpace(row[si])
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, rssSeries{name: name})
		}
		out[i].pts = append(out[i].pts, plotter.XY{X: w, Y: m})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return out, nil
}

// fitLine is the least-squares line y = a + b*x through pts (b = 0 for a
// single point).
func fitLine(pts plotter.XYs) (a, b float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(pts))
	for _, p := range pts {
		sx += p.X
		sy += p.Y
		sxx += p.X * p.X
		sxy += p.X * p.Y
	}
	if d := n*sxx - sx*sx; d != 0 {
		b = (n*sxy - sx*sy) / d
	}
	return (sy - b*sx) / n, b
}

// rssPlot draws RSS against waiting desktops: each series' points, its
// least-squares line, and that line drawn on (dashed) to o.Extrapolate.
func rssPlot(path string, o rssOpts) (*plot.Plot, error) {
	all, err := readRSS(path)
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = o.Title
	if p.Title.Text == "" {
		p.Title.Text = "Server RSS against waiting desktops"
	}
	p.X.Label.Text = "waiting desktops (WebSockets)"
	p.Y.Label.Text = "server RSS (MiB)"
	p.Add(plotter.NewGrid())

	xmax, top := 0.0, 0.0
	for _, s := range all {
		for _, q := range s.pts {
			xmax, top = max(xmax, q.X), max(top, q.Y)
		}
	}
	xend := max(xmax, o.Extrapolate)
	glyphs := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}}
	for i, s := range all {
		col := plotutil.Color(2 + i)
		prefix := ""
		if s.name != "" {
			prefix = s.name + ": "
		}
		a, b := fitLine(s.pts)
		sxmax := 0.0
		for _, q := range s.pts {
			sxmax = max(sxmax, q.X)
		}
		fit, err := plotter.NewLine(plotter.XYs{{X: 0, Y: a}, {X: sxmax, Y: a + b*sxmax}})
		if err != nil {
			return nil, err
		}
		fit.Color = col
		fit.Width = vg.Points(1.5)
		p.Add(fit)
		label := fmt.Sprintf("%sleast squares %.0f MiB + %.1f KiB per desktop", prefix, a, b*1024)
		if o.Extrapolate > sxmax {
			ext, err := plotter.NewLine(plotter.XYs{{X: sxmax, Y: a + b*sxmax}, {X: o.Extrapolate, Y: a + b*o.Extrapolate}})
			if err != nil {
				return nil, err
			}
			ext.Color = col
			ext.Width = vg.Points(1.5)
			ext.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
			p.Add(ext)
			label += fmt.Sprintf(" (extrapolated: %.0f MiB at %.0f)", a+b*o.Extrapolate, o.Extrapolate)
			top = max(top, a+b*o.Extrapolate)
		}
		sc, err := plotter.NewScatter(s.pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Shape = glyphs[i%len(glyphs)]
		sc.GlyphStyle.Radius = vg.Points(4)
		sc.GlyphStyle.Color = col
		p.Add(sc)
		p.Legend.Add(label, fit, sc)
		labels := make([]string, len(s.pts))
		for j, q := range s.pts {
			labels[j] = fmt.Sprintf("%.0f", q.Y)
		}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: s.pts, Labels: labels})
		if err != nil {
			return nil, err
		}
		for j := range lb.TextStyle {
			lb.TextStyle[j].Font.Size = vg.Points(9)
			lb.TextStyle[j].Color = col
		}
		lb.Offset = vg.Point{X: vg.Points(7), Y: -vg.Points(4)}
		if i%2 == 1 {
			lb.Offset = vg.Point{X: vg.Points(7), Y: -vg.Points(14)}
		}
		p.Add(lb)
	}
	if o.LimitMiB > 0 {
		lim, err := plotter.NewLine(plotter.XYs{{X: 0, Y: o.LimitMiB}, {X: xend, Y: o.LimitMiB}})
		if err != nil {
			return nil, err
		}
		lim.Color = color.RGBA{R: 200, A: 255}
		lim.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(lim)
		p.Legend.Add(fmt.Sprintf("limit %.0f MiB", o.LimitMiB), lim)
		top = max(top, o.LimitMiB)
	}
	p.X.Min, p.Y.Min = 0, 0
	p.X.Max = xend * 1.05
	p.Y.Max = top * 1.1
	p.X.Tick.Marker = stepTicks{unit: "k", div: 1000}
	p.Y.Tick.Marker = stepTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p, nil
}

// stepTicks labels a linear axis every 1, 2 or 5 times a power of ten, so
// that there are 5 to 10 labels, with a minor tick between two; values are
// shown divided by div (if set) and followed by unit.
type stepTicks struct {
	unit string
	div  float64
}

func (t stepTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if span <= 0 {
		return []plot.Tick{{Value: lo, Label: t.label(lo)}}
	}
	step := math.Pow(10, math.Floor(math.Log10(span))-1)
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 10 {
			step *= m
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step / 2 {
		major := math.Abs(math.Mod(v/step+0.25, 1)-0.25) < 1e-6
		tk := plot.Tick{Value: v}
		if major {
			tk.Label = t.label(v)
		}
		ts = append(ts, tk)
	}
	return ts
}

func (t stepTicks) label(v float64) string {
	if t.div != 0 && v != 0 {
		v /= t.div
	} else if t.div != 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 6, 64) + t.unit
}
