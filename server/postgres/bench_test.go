package postgres

import (
	"testing"

	"github.com/qrlogin/qrlogin/server/internal/loginbench"
	"github.com/qrlogin/qrlogin/server/internal/pgtest"
)

// BenchmarkLogin runs one whole login (create, scan, confirm, redeem) through
// the service on PostgreSQL, without HTTP: service.BenchmarkLogin's twin on
// the other store.
func BenchmarkLogin(b *testing.B) { loginbench.Run(b, mustOpen(b, pgtest.Start(b))) }

// BenchmarkLoginParallel is BenchmarkLogin from several goroutines at once,
// as a server's requests come: it measures the pool and the row locks.
func BenchmarkLoginParallel(b *testing.B) { loginbench.RunParallel(b, mustOpen(b, pgtest.Start(b))) }
