package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/qrlogin/qrlogin/server/api"
)

func TestProfileSaveLoad(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	t.Setenv(homeEnv, home)
	p, err := loadProfile("alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.DeviceID) != 22 || p.LoggedIn() {
		t.Fatalf("new profile = %+v, want a 128-bit device id and no login", p)
	}
	p.Server, p.DeviceToken, p.User = "http://s", "tok", api.User{ID: "u1", Username: "alice"}
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(home, "alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("profile file mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(home); dst.Mode().Perm() != 0o700 {
		t.Errorf("profile folder mode %v, want 0700", dst.Mode().Perm())
	}
	q, err := loadProfile("alice")
	if err != nil {
		t.Fatal(err)
	}
	if q.DeviceID != p.DeviceID || q.DeviceToken != "tok" || q.Server != "http://s" || q.User.Username != "alice" {
		t.Errorf("reloaded %+v, want %+v", q, p)
	}
	other, _ := loadProfile("bob")
	if other.DeviceID == p.DeviceID {
		t.Error("two profiles share a device id")
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only alice.json (no temp files)", len(entries))
	}
}

// A profile file left readable by others is made 0600 again on save.
func TestProfileSaveTightensMode(t *testing.T) {
	home := t.TempDir()
	t.Setenv(homeEnv, home)
	path := filepath.Join(home, "p.json")
	if err := os.WriteFile(path, []byte(`{"device_id":"d"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := loadProfile("p")
	if err != nil || p.DeviceID != "d" {
		t.Fatalf("loadProfile = %+v, %v", p, err)
	}
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after save, want 0600", st.Mode().Perm())
	}
}

func TestProfileNames(t *testing.T) {
	t.Setenv(homeEnv, t.TempDir())
	for _, name := range []string{"", "..", "../x", "a/b", ".hidden", "a b"} {
		if _, err := loadProfile(name); err == nil {
			t.Errorf("loadProfile(%q) accepted", name)
		}
	}
	for _, name := range []string{"default", "alice-2", "phone_1.test"} {
		if _, err := loadProfile(name); err != nil {
			t.Errorf("loadProfile(%q): %v", name, err)
		}
	}
}

func TestDamagedProfile(t *testing.T) {
	home := t.TempDir()
	t.Setenv(homeEnv, home)
	os.WriteFile(filepath.Join(home, "x.json"), []byte("{"), 0o600)
	if _, err := loadProfile("x"); err == nil {
		t.Error("a damaged profile loaded")
	}
}
