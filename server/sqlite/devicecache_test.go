package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server"
)

// Once a write that revokes devices has returned, a device read by its
// token shows it revoked, though the read before it was cached: both the
// phone's next login (CreateDevice) and a logout (RevokeDevice).
func TestDeviceCacheSeesEveryRevocation(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "q.db"))
	if err := db.CreateUser(ctx, server.User{ID: "u1", Username: "alice", PasswordHash: "h", CreatedAt: cacheT0}); err != nil {
		t.Fatal(err)
	}
	login := func(id string, at time.Time) []byte {
		t.Helper()
		h := server.HashToken(id)
		if err := db.CreateDevice(ctx, server.Device{ID: id, UserID: "u1", ClientID: "phone", TokenHash: h, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	read := func(h []byte) server.Device {
		t.Helper()
		d, err := db.DeviceByTokenHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := login("d1", cacheT0)
	if d := read(first); !d.RevokedAt.IsZero() {
		t.Fatal("a new device reads revoked")
	}
	if _, _, ok := db.devices.get(first); !ok {
		t.Fatal("a live device read is not cached")
	}
	second := login("d2", cacheT0.Add(time.Second))
	if d := read(first); !d.RevokedAt.Equal(cacheT0.Add(time.Second)) {
		t.Fatalf("the phone's earlier device after its next login: revoked at %v", d.RevokedAt)
	}
	if _, _, ok := db.devices.get(first); ok {
		t.Fatal("a revoked device is cached")
	}
	read(second)
	if _, _, err := db.RevokeDevice(ctx, "d2", cacheT0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := read(second); d.RevokedAt.IsZero() {
		t.Fatal("a logged-out device reads live")
	}
}

// A read that began before the cache was dropped keeps nothing: it may
// hold the device as it was before the revocation that dropped it.
func TestDeviceCacheKeepsNoReadFromBeforeADrop(t *testing.T) {
	c := newDeviceCache()
	d := server.Device{ID: "d1", TokenHash: server.HashToken("d1")}
	_, gen, ok := c.get(d.TokenHash)
	if ok {
		t.Fatal("an empty cache has a device")
	}
	c.drop() // a revocation committed while the read ran
	c.put(gen, d)
	if _, _, ok := c.get(d.TokenHash); ok {
		t.Fatal("a read from before the drop was kept")
	}
	_, gen, _ = c.get(d.TokenHash)
	c.put(gen, d)
	got, _, ok := c.get(d.TokenHash)
	if !ok || got.ID != "d1" {
		t.Fatal("a read after the drop was not kept")
	}
	got.TokenHash[0] ^= 0xff
	if _, _, ok := c.get(d.TokenHash); !ok {
		t.Fatal("a caller's change reached the cache")
	}
}
