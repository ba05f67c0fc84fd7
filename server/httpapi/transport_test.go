package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"image/png"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// Checklist 13: TLS with HSTS off loopback (plain HTTP is refused there);
// the QR is drawn by the server itself; pages forbid framing; WebSocket
// upgrades from a disallowed Origin get 403.
func TestChecklist13_TransportAndBrowser(t *testing.T) {
	t.Run("plain HTTP off loopback is refused", func(t *testing.T) {
		_, err := node.Start(context.Background(), node.Config{Addr: "0.0.0.0:0", DBPath: filepath.Join(t.TempDir(), "db")})
		if err == nil || !strings.Contains(err.Error(), "not loopback") {
			t.Fatalf("plain HTTP on 0.0.0.0: err = %v, want a refusal", err)
		}
	})
	t.Run("TLS with HSTS", func(t *testing.T) {
		cert, key, pool := selfSigned(t)
		h := start(t, func(c *node.Config) { c.TLSCert, c.TLSKey = cert, key })
		if !strings.HasPrefix(h.node.URL(), "https://") {
			t.Fatalf("base URL %s is not https", h.node.URL())
		}
		h.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		r := h.Do("GET", api.PathHealth, protocoltest.Auth{}, nil)
		protocoltest.Want(t, r, http.StatusOK, "")
		if hsts := r.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
			t.Fatalf("no HSTS over TLS: %q", hsts)
		}
		tk := h.NewTicket()
		if !strings.HasPrefix(tk.QRPayload, "https://") {
			t.Fatalf("payload %s is not https", tk.QRPayload)
		}
	})
	t.Run("QR drawn by the server, pages not framable", func(t *testing.T) {
		h := start(t, nil)
		tk := h.NewTicket()
		r := h.Do("GET", "/q/"+tk.Ref+".png?px=300", protocoltest.Auth{}, nil)
		protocoltest.Want(t, r, http.StatusOK, "")
		img, err := png.Decode(bytes.NewReader(r.Body))
		if err != nil || img.Bounds().Dx() > 300 || img.Bounds().Dx() < 200 {
			t.Fatalf("QR PNG: %v, %v", err, img.Bounds())
		}
		r = h.Do("GET", "/q/"+tk.Ref+".svg", protocoltest.Auth{}, nil)
		if r.Status != 200 || !strings.HasPrefix(string(r.Body), "<svg") {
			t.Fatalf("QR SVG: %d %.60s", r.Status, r.Body)
		}
		page := h.Do("GET", "/q/"+tk.Ref, protocoltest.Auth{}, nil)
		if !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("page CSP: %q", page.Header.Get("Content-Security-Policy"))
		}
		if !strings.Contains(string(page.Body), "qrlogin app") || strings.Contains(string(page.Body), tk.Ref) {
			t.Fatalf("a generic scanner's page must say to use the app and nothing else: %s", page.Body)
		}
		if strings.Contains(string(page.Body), "http") {
			t.Fatal("the page loads or links something")
		}
	})
	t.Run("WebSocket Origin", func(t *testing.T) {
		h := start(t, func(c *node.Config) { c.AllowedOrigins = []string{"https://app.example", "https://*.partner.example"} })
		tk := h.NewTicket()
		for origin, want := range map[string]int{
			"https://evil.example":           http.StatusForbidden,
			"null":                           http.StatusForbidden,
			"https://app.example":            http.StatusSwitchingProtocols,
			"https://web.partner.example":    http.StatusSwitchingProtocols,
			h.node.URL():                     http.StatusSwitchingProtocols,
			"https://app.example.evil.other": http.StatusForbidden,
		} {
			ws, status := h.Dial(events(tk.Ref), tk.Secret(), origin)
			if status != want {
				t.Errorf("Origin %s: %d, want %d", origin, status, want)
			}
			if ws != nil {
				ws.C.CloseNow()
			}
		}
	})
}
