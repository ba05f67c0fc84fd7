package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The self-signed certificate names the hosts, its key is the owner's
// alone, its fingerprint is the certificate's SHA-256, and it is kept from
// one start to the next until the hosts change or it nears its end.
func TestSelfSigned(t *testing.T) {
	dir, now := t.TempDir(), time.Now()
	cert, key, fp, err := selfSigned(dir, []string{"192.168.1.20", "qrlogin.lan"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(pair.Certificate[0])
	sum := sha256.Sum256(c.Raw)
	if want := strings.ToUpper(fmt.Sprintf("%x", sum)); strings.ReplaceAll(fp, ":", "") != want || len(fp) != 95 {
		t.Errorf("fingerprint %s, want %s with colons", fp, want)
	}
	for _, h := range []string{"192.168.1.20", "qrlogin.lan"} {
		if err := c.VerifyHostname(h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, "qrlogin-tls.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if _, _, again, _ := selfSigned(dir, []string{"qrlogin.lan"}, now.Add(time.Hour)); again != fp {
		t.Error("a second start made a new certificate")
	}
	_, _, other, err := selfSigned(dir, []string{"10.0.0.5"}, now)
	if err != nil || other == fp {
		t.Error("a new host kept the old certificate")
	}
	if _, _, late, _ := selfSigned(dir, []string{"10.0.0.5"}, now.Add(360*24*time.Hour)); late == other {
		t.Error("a certificate near its end was kept")
	}
}
