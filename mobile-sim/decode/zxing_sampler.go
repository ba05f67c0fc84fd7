// Adapted from gozxing: the grid sampler.
//
// sampleCells adapts DefaultGridSampler.SampleGridWithTransform and
// GridSampler_checkAndNudgePoints in gozxing v0.1.1's
// common/default_grid_sampler.go and common/grid_sampler.go, ports of
// ZXing's Java classes com.google.zxing.common.DefaultGridSampler and
// GridSampler: each module reads the pixel its center (x+0.5, y+0.5) maps
// to, with a pixel of slack at the image's border.
//
// Why: not speed but fit. gozxing maps the whole grid with one perspective
// transform, which drifts off the modules of large codes under lens
// distortion or on bent paper. sampleCells takes a grid of located
// alignment patterns (sampleAligned, in sampler.go) and maps each module
// with the transform of the grid cell it falls in. It also checks and
// clamps every point, where gozxing nudges the ends of a row and fails on
// other points off the image, so the two can differ only on grids that
// reach past the image's edge. With one cell (versions 2 to 6) whose
// corners are the points of gozxing's Detector, the sampled grid is
// Detector's (TestSampleCellsMatchesGozxing).
//
// gozxing is Copyright (c) 2018 Daisuke MAKIUCHI, MIT License (its text:
// LICENSE-gozxing). ZXing's
// DefaultGridSampler and GridSampler are Copyright 2007 ZXing authors,
// Apache License 2.0.

package decode

import (
	"errors"
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
)

// errOffImage is sampleCells's error for a module center off the image.
var errOffImage = errors.New("module grid runs off the image")

// sampleCells samples every module with the perspective transform of the
// grid cell it falls in; modules outside the outermost alignment rows and
// columns use the nearest cell's transform.
func sampleCells(m *gozxing.BitMatrix, grid []gridPoint, k, dim int) (*gozxing.BitMatrix, error) {
	cells := make([]*common.PerspectiveTransform, (k-1)*(k-1))
	for j := 0; j < k-1; j++ {
		for i := 0; i < k-1; i++ {
			a, b := grid[j*k+i], grid[j*k+i+1]
			c, e := grid[(j+1)*k+i+1], grid[(j+1)*k+i]
			cells[j*(k-1)+i] = common.PerspectiveTransform_QuadrilateralToQuadrilateral(
				a.mod.x, a.mod.y, b.mod.x, b.mod.y, c.mod.x, c.mod.y, e.mod.x, e.mod.y,
				a.img.x, a.img.y, b.img.x, b.img.y, c.img.x, c.img.y, e.img.x, e.img.y)
		}
	}
	// cellOf[n] is the cell column (or row) for module column (or row) n.
	cellOf := make([]int, dim)
	for n := range cellOf {
		c := 0
		for c < k-2 && float64(n)+0.5 >= grid[c+1].mod.x {
			c++
		}
		cellOf[n] = c
	}
	bits, err := gozxing.NewSquareBitMatrix(dim)
	if err != nil {
		return nil, err
	}
	w, h := float64(m.GetWidth()), float64(m.GetHeight())
	xy := make([]float64, 2)
	for y := range dim {
		for x := range dim {
			xy[0], xy[1] = float64(x)+0.5, float64(y)+0.5
			cells[cellOf[y]*(k-1)+cellOf[x]].TransformPoints(xy)
			px, py := xy[0], xy[1]
			// Allow a pixel of slack at the border, as ZXing does.
			if px < -1 || py < -1 || px > w || py > h || math.IsNaN(px) || math.IsNaN(py) {
				return nil, errOffImage
			}
			if m.Get(int(math.Min(math.Max(px, 0), w-1)), int(math.Min(math.Max(py, 0), h-1))) {
				bits.Set(x, y)
			}
		}
	}
	return bits, nil
}
