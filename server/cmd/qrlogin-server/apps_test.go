package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"qrlogin/server"
	"qrlogin/server/node"
	"qrlogin/server/oauth"
)

func TestAppsAddListRemove(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	var out, errb bytes.Buffer
	if code := runApps([]string{"add", "-db", db, "--name", "Demo Site", "--redirect-uri", "https://demo.example/cb", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("add: exit %d: %s", code, errb.String())
	}
	var added struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out.Bytes(), &added); err != nil || added.ClientID == "" || len(added.ClientSecret) < 43 {
		t.Fatalf("add printed %q", out.String())
	}

	st, err := node.OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.(oauth.Store).ClientByID(context.Background(), added.ClientID)
	st.Close()
	if err != nil || !bytes.Equal(c.SecretHash, server.HashToken(added.ClientSecret)) || c.Public {
		t.Fatalf("stored client: %+v %v (the secret must be stored as its hash)", c, err)
	}

	out.Reset()
	runApps([]string{"add", "-db", db, "--name", "SPA", "--redirect-uri", "http://127.0.0.1:9/cb", "--public"}, &out, &errb)
	if !strings.Contains(out.String(), "public client") || strings.Contains(out.String(), "client_secret:") {
		t.Fatalf("public add printed %q", out.String())
	}
	out.Reset()
	if code := runApps([]string{"list", "-db", db, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	var list []map[string]any
	json.Unmarshal(out.Bytes(), &list)
	if len(list) != 2 || strings.Contains(out.String(), added.ClientSecret) {
		t.Fatalf("list printed %q", out.String())
	}
	if code := runApps([]string{"remove", "-db", db, added.ClientID}, &out, &errb); code != 0 {
		t.Fatalf("remove: exit %d: %s", code, errb.String())
	}
	if code := runApps([]string{"remove", "-db", db, added.ClientID}, &out, &errb); code != 1 {
		t.Fatalf("removing twice: exit %d, want 1", code)
	}
	for _, bad := range [][]string{
		{"add", "-db", db, "--name", "X"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "not a url"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "https://x/cb#frag"},
		{"frobnicate"},
	} {
		if code := runApps(bad, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
}
