// Package qrphotos lists ZXing's black-box QR photos for the tests of
// mobile-sim/decode and mobile-sim/decode/wasm. The photos are not part of
// the repository: the environment variable QRLOGIN_QR_PHOTOS names the
// folder that holds them.
package qrphotos

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Env is the environment variable that names the photo folder, as an
// absolute path (go test runs each package in its own folder).
const Env = "QRLOGIN_QR_PHOTOS"

// Sets are the subfolders the photo folder must hold, named as in ZXing.
var Sets = []string{"qrcode-1", "qrcode-2", "qrcode-3"}

// holds says what the photo folder must hold, and where it comes from.
const holds = "a folder holding qrcode-1, qrcode-2 and qrcode-3, each with images N.png, N.jpg or N.gif " +
	"and their expected text in N.txt: ZXing's core/src/test/resources/blackbox/qrcode-1..3 " +
	"(https://github.com/zxing/zxing, Apache-2.0)"

// Missing is the reason given when a test skips for want of the photos.
const Missing = Env + " is not set: it must name " + holds

// Photo is one image and the text its QR code holds.
type Photo struct {
	Name string // relative to the folder, slash-separated: "qrcode-2/13.png"
	Path string
	Want []byte // the contents of N.txt
}

// Load lists the photos under root: in each of Sets, the files N.png,
// N.jpg, N.jpeg and N.gif (in any case) that have an N.txt beside them,
// sorted by Name. It returns an error if root or one of Sets is not a
// folder, or if a set holds no such photo.
func Load(root string) ([]Photo, error) {
	var photos []Photo
	for _, set := range Sets {
		dir := filepath.Join(root, set)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		n := len(photos)
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || (ext != ".png" && ext != ".jpg" && ext != ".jpeg" && ext != ".gif") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			want, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".txt")
			if err != nil {
				continue // no expected text: not a test image
			}
			photos = append(photos, Photo{set + "/" + e.Name(), path, want})
		}
		if len(photos) == n {
			return nil, fmt.Errorf("no images with an N.txt beside them in %s", dir)
		}
	}
	sort.Slice(photos, func(i, j int) bool { return photos[i].Name < photos[j].Name })
	return photos, nil
}

// Find returns the photos in the folder that Env names, or false when Env
// is unset or empty. It fails tb when Env is set but is not an absolute
// path or Load fails.
func Find(tb testing.TB) ([]Photo, bool) {
	tb.Helper()
	root := os.Getenv(Env)
	if root == "" {
		return nil, false
	}
	if !filepath.IsAbs(root) {
		tb.Fatalf("%s=%s is not an absolute path; it must name %s", Env, root, holds)
	}
	photos, err := Load(root)
	if err != nil {
		tb.Fatalf("%s=%s: %v; it must name %s", Env, root, err, holds)
	}
	return photos, true
}

// Require is Find, but skips tb with the reason Missing when Env is unset.
func Require(tb testing.TB) []Photo {
	tb.Helper()
	photos, ok := Find(tb)
	if !ok {
		tb.Skip(Missing)
	}
	return photos
}
