//go:build js && wasm

// Command wasm is mobile-sim's QR decoder (package decode) built for
// WebAssembly, for the phone web app in browsers without BarcodeDetector:
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o server/phone/static/decoder.wasm ./mobile-sim/decode/wasm
//
// (make wasm, which also copies Go's wasm_exec.js beside it). Run under
// wasm_exec.js, it defines one JavaScript function and then waits forever
// for calls:
//
//	qrloginDecode(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number)
//	    -> {texts: string[]} | {error: string}
//
// rgba holds width×height pixels of 4 bytes, row after row, red first and
// alpha not premultiplied (an ImageData's data). The pixels become gray
// exactly as mobile-sim's do (decode.Decode of an *image.NRGBA) and are
// decoded with every strategy of package decode. texts is empty when no
// code is found; error says what was wrong with the arguments, or that the
// decoder failed. The function never throws: a panic becomes an error.
package main

import (
	"errors"
	"fmt"
	"image"
	"math"
	"syscall/js"

	"github.com/qrlogin/qrlogin/mobile-sim/decode"
)

// maxPixels bounds the frames accepted: 64 Mi pixels, 256 MiB of RGBA,
// which the decoder copies and converts to gray before it starts.
const maxPixels = 64 << 20

func main() {
	js.Global().Set("qrloginDecode", js.FuncOf(decodeJS))
	select {}
}

// decodeJS is qrloginDecode: it returns {texts} or {error}, and turns a
// panic in the decoder into an error.
func decodeJS(_ js.Value, args []js.Value) (result any) {
	defer func() {
		if r := recover(); r != nil {
			result = map[string]any{"error": fmt.Sprintf("qrloginDecode: the decoder failed: %v", r)}
		}
	}()
	texts, err := decodeArgs(args)
	if err != nil {
		return map[string]any{"error": "qrloginDecode: " + err.Error()}
	}
	list := make([]any, len(texts))
	for i, t := range texts {
		list[i] = t
	}
	return map[string]any{"texts": list}
}

// decodeArgs checks the arguments (rgba, width, height), copies the pixels
// and returns the texts of the QR codes found, none if there is none.
func decodeArgs(args []js.Value) ([]string, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("want 3 arguments (rgba, width, height), got %d", len(args))
	}
	rgba := args[0]
	if !rgba.InstanceOf(js.Global().Get("Uint8Array")) && !rgba.InstanceOf(js.Global().Get("Uint8ClampedArray")) {
		return nil, errors.New("rgba must be a Uint8Array or Uint8ClampedArray")
	}
	w, err := dimension(args[1], "width")
	if err != nil {
		return nil, err
	}
	h, err := dimension(args[2], "height")
	if err != nil {
		return nil, err
	}
	if w*h > maxPixels {
		return nil, fmt.Errorf("%d×%d is more than %d pixels", w, h, maxPixels)
	}
	if n := rgba.Get("length").Int(); n != 4*w*h {
		return nil, fmt.Errorf("%d bytes of RGBA is not %d×%d pixels (%d bytes)", n, w, h, 4*w*h)
	}
	pix := make([]byte, 4*w*h)
	js.CopyBytesToGo(pix, rgba)
	res, err := decode.Decode(&image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)})
	if errors.Is(err, decode.ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(res))
	for i, r := range res {
		texts[i] = r.Text
	}
	return texts, nil
}

// dimension returns v as a width or height: a whole number from 1 to
// maxPixels.
func dimension(v js.Value, name string) (int, error) {
	if v.Type() != js.TypeNumber {
		return 0, fmt.Errorf("%s must be a number, not %s", name, v.Type())
	}
	f := v.Float()
	if f != math.Trunc(f) || f < 1 || f > maxPixels {
		return 0, fmt.Errorf("%s must be a whole number from 1 to %d, not %v", name, maxPixels, f)
	}
	return int(f), nil
}
