//go:build unix

package service_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/hub"
	"github.com/qrlogin/qrlogin/server/service"
	"github.com/qrlogin/qrlogin/server/sqlite"
)

// BenchmarkRotate1000 rotates 1,000 watched tickets that fall due at the
// same slot, through the service on a real SQLite file (which a rotation
// no longer writes: refs are sealed), and reports the
// wall time (ns/rotation) and the process's CPU time (cpu-ns/rotation) from
// the slot to the last rotated event, per rotation. Each iteration waits
// about a second of wall time, outside the timer, for its slot: run it with
// -benchtime 10x or so.
func BenchmarkRotate1000(b *testing.B) {
	const n = 1000
	// A slot a minute after creation, which no ticket of an earlier
	// iteration reaches again during the benchmark.
	const every, margin = time.Minute, time.Second
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, err := service.New(db, service.Config{
		BaseURL: "http://127.0.0.1:8080", TicketTTL: 2 * every, RotateEvery: every, RotateMax: 10 * every,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	var wall, cpu time.Duration
	b.StopTimer()
	for range b.N {
		slot := time.Now().Add(margin)
		created := slot.Add(-every)
		tks := make([]server.Ticket, n)
		subs := make([]*hub.Sub[service.TicketMsg], n)
		releases := make([]func(), n)
		for i := range tks {
			tk := server.Ticket{
				ID: rotatingID(), Version: 1, State: server.StatePending, PollSecretHash: server.HashToken("s"), Ref: server.NewRef(),
				CreatedAt: created, ExpiresAt: created.Add(10 * every), RotateUntil: created.Add(10 * every), RotateEvery: every,
				MatchCode: "00", UpdatedAt: created,
			}
			if err := db.CreateTicket(ctx, tk); err != nil {
				b.Fatal(err)
			}
			subs[i] = svc.Tickets.Subscribe(tk.ID, 4)
			tks[i] = tk
		}
		for i, tk := range tks {
			releases[i] = svc.Watch(tk)
		}
		if time.Now().After(slot) {
			b.Fatalf("setting up %d tickets took more than %v", n, margin)
		}
		time.Sleep(time.Until(slot))
		c0 := cpuTime(b)
		b.StartTimer()
		for i, sub := range subs {
			ev := (<-sub.C).Event
			if ev.Type != api.EventRotated || ev.Ref == "" || ev.Ref == tks[i].Ref {
				b.Fatalf("ticket %d: %+v, want a rotated event with a new ref", i, ev)
			}
		}
		b.StopTimer()
		wall += time.Since(slot)
		cpu += cpuTime(b) - c0
		for i := range n {
			releases[i]()
			subs[i].Close()
		}
	}
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N*n), "ns/rotation")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/rotation")
}

// rotatingID returns a new id of the kind the service gives a rotating
// ticket: 12 random bytes, base64url.
func rotatingID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
