//go:build ignore

// icons writes the app's icon at the sizes of the hicolor icon theme, for
// the Debian package: SRC (build/appicon.png, 512x512) scaled down, as
// DIR/NxN/apps/qrlogin.png. make package runs it from the repository root:
//
//	go run build/linux/icons.go build/appicon.png build/bin/icons
package main

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"golang.org/x/image/draw"
)

// sizes are the hicolor sizes an app menu or a dock asks for; 512 is the
// source itself.
var sizes = []int{16, 24, 32, 48, 64, 128, 256, 512}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run build/linux/icons.go SRC.png DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "icons:", err)
		os.Exit(1)
	}
}

// write scales the PNG at src to each of sizes, into dir.
func write(src, dir string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %v", src, err)
	}
	for _, n := range sizes {
		if b := img.Bounds(); b.Dx() < n || b.Dy() < n {
			return fmt.Errorf("%s is %dx%d, smaller than %dx%d", src, b.Dx(), b.Dy(), n, n)
		}
		out := image.NewNRGBA(image.Rect(0, 0, n, n))
		draw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), draw.Src, nil)
		path := filepath.Join(dir, fmt.Sprintf("%dx%d", n, n), "apps", "qrlogin.png")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		w, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := png.Encode(w, out); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}
