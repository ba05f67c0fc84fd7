package service_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"qrlogin/server"
	"qrlogin/server/api"
	"qrlogin/server/service"
	"qrlogin/server/sqlite"
)

// BenchmarkLogin runs one whole login (create, scan, confirm, redeem) through
// the service on a real SQLite file, without HTTP.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
