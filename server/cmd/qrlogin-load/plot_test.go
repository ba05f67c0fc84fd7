package main

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// decodePNG checks that path is a PNG of w × h pixels that is not blank.
func decodePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	dark := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r+g+bl < 3*0x8000 {
				dark++
			}
		}
	}
	if dark < 200 {
		t.Errorf("%s: only %d dark pixels sampled: nothing drawn?", path, dark)
	}
}

func TestPlotLatency(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "samples.jsonl")
	var b strings.Builder
	for i := range 200 {
		ms := 0.5 + float64(i%50)*0.1
		b.WriteString(`{"kind":"ws","type":"confirmed","ms":` + ftoa(ms) + "}\n")
		b.WriteString(`{"kind":"ws","type":"scanned","ms":` + ftoa(ms*1.5) + "}\n")
	}
	b.WriteString(`{"kind":"longpoll","type":"confirmed","ms":30}` + "\n")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "plots", "lat.png") // the folder is made
	var stdout, stderr bytes.Buffer
	code := run([]string{"plot", "latency", "-o", out, "-width", "640", "-height", "400", "-target", "20", "-title", "test", "run=" + in}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	decodePNG(t, out, 640, 400)

	// Filters that leave nothing are an error, not an empty plot.
	code = run([]string{"plot", "latency", "-o", out, "-kind", "nosuch", in}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no samples") {
		t.Errorf("empty selection: exit %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"plot", "latency", in}, &stdout, &stderr); code != 2 {
		t.Errorf("no -o: exit %d, want 2", code)
	}
	if code := run([]string{"plot", "bars"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown plot: exit %d, want 2", code)
	}
}

func TestLatencySeries(t *testing.T) {
	in := filepath.Join(t.TempDir(), "s.jsonl")
	os.WriteFile(in, []byte(`{"kind":"ws","type":"confirmed","ms":1,"cross":true}
{"kind":"ws","type":"confirmed","ms":2,"cross":false}
{"kind":"ws","type":"scanned","ms":3}
{"kind":"longpoll","type":"confirmed","ms":4}
`), 0o644)
	ss, err := latencySeries([]string{"A=" + in}, latencyOpts{Type: "confirmed", Kind: "all", SplitCross: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range ss {
		names = append(names, s.name)
	}
	want := "A: longpoll confirmed|A: ws confirmed, cross-node|A: ws confirmed, same node"
	if strings.Join(names, "|") != want {
		t.Errorf("series %q, want %q", strings.Join(names, "|"), want)
	}
}

func TestPlotRSS(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "rss.csv")
	os.WriteFile(in, []byte("# runs\nrss_mib,waiting,note\n20,0,a\n120,5000,b\n220,10000,c\n"), 0o644)
	ss, err := readRSS(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || len(ss[0].pts) != 3 || ss[0].pts[1] != (plotter.XY{X: 5000, Y: 120}) {
		t.Errorf("readRSS = %v", ss)
	}
	a, b := fitLine(ss[0].pts)
	if math.Abs(a-20) > 1e-9 || math.Abs(b-0.02) > 1e-12 {
		t.Errorf("fit = %v + %v x, want 20 + 0.02 x", a, b)
	}
	out := filepath.Join(dir, "rss.png")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"plot", "rss", "-o", out, "-width", "500", "-height", "300", "-extrapolate", "50000", "-limit", "1536", in}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	decodePNG(t, out, 500, 300)

	// A series column draws several lines.
	os.WriteFile(in, []byte("waiting,rss_mib,series\n0,20,up\n5000,120,up\n0,21,idle\n5000,150,idle\n"), 0o644)
	ss, err = readRSS(in)
	if err != nil || len(ss) != 2 || ss[0].name != "up" || ss[1].name != "idle" || len(ss[1].pts) != 2 {
		t.Fatalf("readRSS with series = %v, %v", ss, err)
	}
	if code := run([]string{"plot", "rss", "-o", out, "-limit", "1536", in}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	decodePNG(t, out, 900, 560)

	os.WriteFile(in, []byte("a,b\n1,2\n"), 0o644)
	if _, err := readRSS(in); err == nil {
		t.Error("readRSS accepted a header without waiting and rss_mib")
	}
}

func TestStepTicks(t *testing.T) {
	ts := stepTicks{unit: "k", div: 1000}.Ticks(0, 52500)
	var labels []string
	for _, tk := range ts {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 10k 20k 30k 40k 50k" {
		t.Errorf("labels %q", got)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
