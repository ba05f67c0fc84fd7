package service_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/qrlogin/qrlogin/server/internal/loginbench"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// BenchmarkLogin runs one whole login (create, scan, confirm, redeem) through
// the service on a real SQLite file, without HTTP.
func BenchmarkLogin(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() }) // after the service's Close
	loginbench.Run(b, db)
}
