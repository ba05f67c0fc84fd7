package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/oauth"
)

// apps add records the grants an app may use (code and refresh unless told)
// and its back-channel logout URI; a TV app has the device grant and no
// redirect URI.
func TestAppsGrantsAndLogoutURI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	add := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := runApps(append([]string{"add", "-db", db, "-json"}, args...), &out, &errb); code != 0 {
			t.Fatalf("add %q: exit %d: %s", args, code, errb.String())
		}
		var added struct {
			ClientID string `json:"client_id"`
		}
		json.Unmarshal(out.Bytes(), &added)
		return added.ClientID
	}
	web := add("--name", "Shop", "--redirect-uri", "https://shop.example/cb", "--backchannel-logout-uri", "https://shop.example/bcl")
	tv := add("--name", "TV", "--grants", "device,refresh", "--public")
	local := add("--name", "Dev", "--redirect-uri", "http://127.0.0.1:9/cb", "--grants", "code", "--backchannel-logout-uri", "http://127.0.0.1:9/bcl")

	st, err := node.OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id, want := range map[string]oauth.Client{
		web:   {GrantTypes: []string{oauth.GrantCode, oauth.GrantRefresh}, BackchannelLogoutURI: "https://shop.example/bcl"},
		tv:    {GrantTypes: []string{oauth.GrantDevice, oauth.GrantRefresh}},
		local: {GrantTypes: []string{oauth.GrantCode}, BackchannelLogoutURI: "http://127.0.0.1:9/bcl"},
	} {
		c, err := st.(oauth.Store).ClientByID(context.Background(), id)
		if err != nil || !slices.Equal(c.GrantTypes, want.GrantTypes) || c.BackchannelLogoutURI != want.BackchannelLogoutURI {
			t.Errorf("%s: %+v %v, want grants %v, logout URI %q", c.Name, c, err, want.GrantTypes, want.BackchannelLogoutURI)
		}
	}
	var out, errb bytes.Buffer
	runApps([]string{"list", "-db", db}, &out, &errb)
	if !strings.Contains(out.String(), "device,refresh") || !strings.Contains(out.String(), "https://shop.example/bcl") {
		t.Errorf("list: %s", out.String())
	}

	// update changes what its flags name and keeps the rest.
	for _, tc := range []struct {
		args   []string
		code   int
		grants []string
		logout string
	}{
		{[]string{"--grants", "code,device"}, 0, []string{oauth.GrantCode, oauth.GrantDevice}, "https://shop.example/bcl"},
		{[]string{"--backchannel-logout-uri", ""}, 0, []string{oauth.GrantCode, oauth.GrantDevice}, ""},
		{[]string{"--public"}, 2, nil, ""},
		{[]string{"--grants", "refresh"}, 2, nil, ""},
		{[]string{"--backchannel-logout-uri", "http://shop.example/bcl"}, 2, nil, ""},
	} {
		code := runApps(append(append([]string{"update", "-db", db}, tc.args...), web), &out, &errb)
		if code != tc.code {
			t.Errorf("update %q: exit %d, want %d: %s", tc.args, code, tc.code, errb.String())
		}
		if code != 0 {
			continue
		}
		c, err := st.(oauth.Store).ClientByID(context.Background(), web)
		if err != nil || !slices.Equal(c.GrantTypes, tc.grants) || c.BackchannelLogoutURI != tc.logout || c.Name != "Shop" || len(c.SecretHash) == 0 {
			t.Errorf("after update %q: %+v %v", tc.args, c, err)
		}
	}
	if code := runApps([]string{"update", "-db", db, "--grants", "code", "no-such-app"}, &out, &errb); code != 1 {
		t.Errorf("update of an unknown app: exit %d, want 1", code)
	}
}

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
		{"add", "-db", db, "--name", "X", "--redirect-uri", "https://x/cb", "--grants", "code,implicit"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "https://x/cb", "--grants", "device"},
		{"add", "-db", db, "--name", "X", "--grants", "refresh"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "https://x/cb", "--backchannel-logout-uri", "http://shop.example/logout"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "https://x/cb", "--backchannel-logout-uri", "https://shop.example/logout#x"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "not a url"},
		{"add", "-db", db, "--name", "X", "--redirect-uri", "https://x/cb#frag"},
		{"frobnicate"},
	} {
		if code := runApps(bad, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
}

// A client id never starts with -, which apps remove would read as a flag;
// an app whose id does (added before that rule) is removed after --.
func TestAppsClientIDsAreNotFlags(t *testing.T) {
	for range 2000 { // a ref starts with - once in 64
		if id := newClientID(); id[0] == '-' || !api.ValidRef(id) {
			t.Fatalf("client id %q", id)
		}
	}
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	ctx := context.Background()
	st, closeDB, err := openOAuth(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	err = st.CreateClient(ctx, oauth.Client{ID: "-XnQg4I-SvWqLYa5Pt-7aQ", Name: "Old", Public: true, GrantTypes: []string{oauth.GrantDevice}})
	closeDB()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runApps([]string{"remove", "-db", db, "--", "-XnQg4I-SvWqLYa5Pt-7aQ"}, &out, &errb); code != 0 {
		t.Fatalf("remove -- -XnQ...: exit %d: %s", code, errb.String())
	}
}
