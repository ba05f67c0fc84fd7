// Package loginbench benchmarks one whole login (create, scan, confirm,
// redeem) through the service on any store, without HTTP, so that the
// SQLite and PostgreSQL figures come from the same loop.
package loginbench

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/service"
)

// Run runs b.N logins one after another on store.
func Run(b *testing.B, store server.Store) {
	l := setup(b, store)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.login(); err != nil {
			b.Fatal(err)
		}
	}
}

// RunParallel runs them from 4×GOMAXPROCS goroutines at once, as a
// server's requests come: it measures the store's connections and locks.
func RunParallel(b *testing.B, store server.Store) {
	l := setup(b, store)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.login(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// logins is a service with one logged-in phone.
type logins struct {
	svc *service.Service
	dev server.Device
}

func setup(b *testing.B, store server.Store) *logins {
	b.Helper()
	ctx := context.Background()
	svc, err := service.New(store, service.Config{
		BaseURL: "http://127.0.0.1:8080", Match: service.MatchNever, OpenRegistration: true,
		Password: server.PasswordParams{Memory: 64, Time: 1, Threads: 1},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
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
	return &logins{svc: svc, dev: dev}
}

// login makes one whole login.
func (l *logins) login() error {
	ctx := context.Background()
	tk, err := l.svc.CreateTicket(ctx, api.CreateTicketRequest{Device: api.DesktopDevice{Name: "PC"}}, server.Desktop{IP: "127.0.0.1"})
	if err != nil {
		return err
	}
	sr, err := l.svc.Scan(ctx, l.dev, tk.QRPayload, "127.0.0.1")
	if err != nil {
		return err
	}
	yes := true
	if _, err := l.svc.Confirm(ctx, l.dev, api.ConfirmRequest{ScanToken: sr.ScanToken, Approve: &yes}); err != nil {
		return err
	}
	_, err = l.svc.RedeemRef(ctx, tk.Ref, tk.PollSecret) // as a desktop without DPoP
	return err
}
