package decode

import "github.com/makiuchi-d/gozxing"

// globalMatrix binarizes with gozxing's GlobalHistogramBinarizer (one
// threshold from the histogram of four sample rows).
func globalMatrix(pix []byte, w, h int) (*gozxing.BitMatrix, error) {
	src, err := gozxing.NewPlanarYUVLuminanceSource(pix, w, h, 0, 0, w, h, false)
	if err != nil {
		return nil, err
	}
	return gozxing.NewGlobalHistgramBinarizer(src).GetBlackMatrix()
}
