package qrphotos

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoad checks which files count as photos, their order and texts, and
// that a wrong folder is an error (so the tests fail instead of skipping).
func TestLoad(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"qrcode-1/2.png": "", "qrcode-1/2.txt": "two",
		"qrcode-1/10.JPG": "", "qrcode-1/10.txt": "ten",
		"qrcode-1/3.png": "", // no text: not a photo
		"qrcode-2/1.gif": "", "qrcode-2/1.txt": "gif",
		"qrcode-2/4.txt":  "", // no image
		"qrcode-3/1.jpeg": "", "qrcode-3/1.txt": "jpeg",
		"qrcode-3/1.bmp": "", // not an image the tests read
		"other/1.png":    "", "other/1.txt": "not a set",
	}
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	photos, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range photos {
		if p.Path != filepath.Join(root, filepath.FromSlash(p.Name)) {
			t.Errorf("%s: path %s", p.Name, p.Path)
		}
		got = append(got, p.Name+"="+string(p.Want))
	}
	want := []string{"qrcode-1/10.JPG=ten", "qrcode-1/2.png=two", "qrcode-2/1.gif=gif", "qrcode-3/1.jpeg=jpeg"}
	if !slices.Equal(got, want) {
		t.Errorf("Load = %q, want %q", got, want)
	}

	if err := os.Remove(filepath.Join(root, "qrcode-2", "1.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root); err == nil || !strings.Contains(err.Error(), "qrcode-2") {
		t.Errorf("a set without photos: err %v, want one naming qrcode-2", err)
	}
	for _, bad := range []string{filepath.Join(root, "qrcode-1"), filepath.Join(root, "absent")} {
		if _, err := Load(bad); err == nil {
			t.Errorf("Load(%s): no error", bad)
		}
	}
}
