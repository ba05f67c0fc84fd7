package httpapi

import (
	"crypto/sha256"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/qrimage"
)

// qr serves /q/{ref} (a page for generic scanners) and /q/{ref}.png or
// .svg?px=N (the code of a ref that can be scanned now). Images are
// rate-limited per address (classQR); an unknown ref spends the guessing
// budget; a ref's image is drawn once per size and kept in h.images.
func (h *Handler) qr(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	ref, ext, _ := strings.Cut(file, ".")
	if !api.ValidRef(ref) || (ext != "" && ext != "png" && ext != "svg") {
		h.writeError(w, r, server.Errorf(server.CodeNotFound, "no such QR code"))
		return
	}
	if ext == "" && h.cfg.Phone != nil {
		// A phone's camera app opened the QR code's link: the phone web app
		// takes it from the fragment (never sent to a server again, never in
		// a Referer) and shows the approval to a signed-in phone only.
		http.Redirect(w, r, strings.TrimRight(h.svc.Config().BaseURL, "/")+PathPhone+"#q="+ref, http.StatusFound)
		return
	}
	if ext == "" {
		h.scanWithApp(w)
		return
	}
	if err := h.limits.ip(classQR, clientIP(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	px := qrimage.DefaultPixels
	if v := r.URL.Query().Get("px"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > qrimage.MaxPixels {
			h.writeError(w, r, server.Errorf(server.CodeInvalid, "px must be a whole number from 1 to %d", qrimage.MaxPixels))
			return
		}
		px = n
	}
	err := h.checked(r, "", func() error { return h.svc.CheckShown(r.Context(), ref) })
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	key := imageKey{ref: ref, ext: ext, px: px}
	b, ok := h.images.Get(key)
	if !ok {
		if b, err = drawQR(api.Payload(h.svc.Config().BaseURL, ref), ext, px); err != nil {
			h.writeError(w, r, err)
			return
		}
		h.images.Add(key, b)
	}
	if ext == "svg" {
		w.Header().Set("Content-Type", "image/svg+xml")
	} else {
		w.Header().Set("Content-Type", "image/png")
	}
	w.Write(b)
}

// imageKey names one drawing of a ref's QR code.
type imageKey struct {
	ref, ext string
	px       int
}

// imageCacheSize is how many QR drawings h.images keeps: a few sizes of
// every QR shown at once on a busy node.
const imageCacheSize = 1024

// drawQR draws payload's QR code as ext ("png" or "svg") px wide.
func drawQR(payload, ext string, px int) ([]byte, error) {
	code, err := qrimage.Encode(payload)
	if err != nil {
		return nil, err
	}
	if ext == "svg" {
		return code.SVG(px), nil
	}
	return code.PNG(px)
}

var scanPage = template.Must(template.New("q").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scan with the qrlogin app</title>
<style>body{font:16px system-ui,sans-serif;max-width:32em;margin:15vh auto;padding:0 1em;color:#222;text-align:center}</style>
</head><body><h1>Scan this code with the qrlogin app</h1>
<p>This QR code logs a computer in. Open the qrlogin app on your phone, where you are already logged in, and scan it there.</p>
<p>A camera app or a web browser cannot use it.</p></body></html>
`))

// scanWithApp is the page a generic scanner gets: it says to use the app,
// and nothing about the ticket.
func (h *Handler) scanWithApp(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	scanPage.Execute(w, nil)
}

// avatar serves /avatars/{key}.svg: an identicon drawn from the key alone,
// so that it tells nothing of the account.
func (h *Handler) avatar(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	if !ok || !api.ValidRef(key) {
		h.writeError(w, r, server.Errorf(server.CodeNotFound, "no such avatar"))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(identicon(key))
}

// identicon draws a symmetric 5x5 pattern in one colour, both from
// SHA-256(key).
func identicon(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	var b strings.Builder
	hue := int(sum[0]) * 360 / 256
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 5 5"><rect width="5" height="5" fill="#f0f0f0"/><g fill="hsl(%d,55%%,50%%)">`, hue)
	for y := range 5 {
		for x := range 3 {
			if sum[1+y*3+x]&1 == 1 {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="1" height="1"/>`, x, y)
				if x < 2 {
					fmt.Fprintf(&b, `<rect x="%d" y="%d" width="1" height="1"/>`, 4-x, y)
				}
			}
		}
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}
