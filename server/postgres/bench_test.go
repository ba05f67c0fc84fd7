package postgres

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"qrlogin/server"
	"qrlogin/server/api"
	"qrlogin/server/internal/pgtest"
	"qrlogin/server/service"
)

// BenchmarkLogin runs one whole login (create, scan, confirm, redeem) through
// the service on PostgreSQL, without HTTP: service.BenchmarkLogin's twin on
// the other store.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, pgtest.Start(b))
	svc, err := service.New(db, service.Config{
		BaseURL: "http://127.0.0.1:8080", Match: service.MatchNever, OpenRegistration: true,
		Password: server.PasswordParams{Memory: 64, Time: 1, Threads: 1},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Register(ctx, api.RegisterRequest{Username: "bench", Password: "password1"}); err != nil {
		b.Fatal(err)
	}
	lr, err := svc.MobileLogin(ctx, api.MobileLoginRequest{Username: "bench", Password: "password1", Device: api.MobileDevice{ID: "d"}})
	if err != nil {
		b.Fatal(err)
	}
	dev, err := svc.AuthDevice(ctx, lr.DeviceToken, "d")
	if err != nil {
		b.Fatal(err)
	}
	yes := true
	b.ReportAllocs()
	for b.Loop() {
		tk, err := svc.CreateTicket(ctx, api.CreateTicketRequest{Device: api.DesktopDevice{Name: "PC"}}, server.Desktop{IP: "127.0.0.1"})
		if err != nil {
			b.Fatal(err)
		}
		sr, err := svc.Scan(ctx, dev, tk.QRPayload, "127.0.0.1")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Confirm(ctx, dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &yes}); err != nil {
			b.Fatal(err)
		}
		t, err := svc.AuthTicket(ctx, tk.Ref, tk.PollSecret)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Redeem(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginParallel is BenchmarkLogin from several goroutines at once,
// as a server's requests come: it measures the pool and the row locks.
func BenchmarkLoginParallel(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, pgtest.Start(b))
	svc, err := service.New(db, service.Config{
		BaseURL: "http://127.0.0.1:8080", Match: service.MatchNever, OpenRegistration: true,
		Password: server.PasswordParams{Memory: 64, Time: 1, Threads: 1},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Register(ctx, api.RegisterRequest{Username: "bench", Password: "password1"}); err != nil {
		b.Fatal(err)
	}
	lr, err := svc.MobileLogin(ctx, api.MobileLoginRequest{Username: "bench", Password: "password1", Device: api.MobileDevice{ID: "d"}})
	if err != nil {
		b.Fatal(err)
	}
	dev, err := svc.AuthDevice(ctx, lr.DeviceToken, "d")
	if err != nil {
		b.Fatal(err)
	}
	yes := true
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk, err := svc.CreateTicket(ctx, api.CreateTicketRequest{Device: api.DesktopDevice{Name: "PC"}}, server.Desktop{IP: "127.0.0.1"})
			if err != nil {
				b.Error(err)
				return
			}
			sr, err := svc.Scan(ctx, dev, tk.QRPayload, "127.0.0.1")
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := svc.Confirm(ctx, dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &yes}); err != nil {
				b.Error(err)
				return
			}
			t, err := svc.AuthTicket(ctx, tk.Ref, tk.PollSecret)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := svc.Redeem(ctx, t); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
