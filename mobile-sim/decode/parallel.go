package decode

import (
	"runtime"
	"sync"
)

// minParallelPixels is the image size from which per-row work is split
// across CPUs; below it the goroutine overhead is not worth it.
const minParallelPixels = 512 * 512

// forRows calls fn on disjoint consecutive ranges [y0, y1) covering
// [0, rows), in parallel when pixels (the image size the rows stand for)
// is large enough and more than one CPU is available. fn must only write
// data belonging to its own rows.
func forRows(rows, pixels int, fn func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), rows, 8)
	if pixels < minParallelPixels || n < 2 {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		y0, y1 := rows*i/n, rows*(i+1)/n
		wg.Go(func() {
			fn(y0, y1)
		})
	}
	wg.Wait()
}
