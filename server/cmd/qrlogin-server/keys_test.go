package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/node"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
)

// keys rotate refuses a database no server has started on; after a start
// it adds a key that signs KeyActivation later, and keys list shows both,
// the old one retiring when the new one signs.
func TestKeysRotateAndList(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qrlogin.db")
	var out, errb bytes.Buffer
	if code := runKeys([]string{"rotate", "-db", db}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no signing key yet") {
		t.Fatalf("rotate before any start: exit %d: %s", code, errb.String())
	}
	n, err := node.Start(context.Background(), node.Config{Addr: "127.0.0.1:0", DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	before := time.Now()
	if code := runKeys([]string{"rotate", "-db", db, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, errb.String())
	}
	var added keyJSON
	if err := json.Unmarshal(out.Bytes(), &added); err != nil || added.KID == "" || added.SignsFrom.Before(before.Add(provider.KeyActivation)) {
		t.Fatalf("rotate printed %q (%v)", out.String(), err)
	}
	out.Reset()
	if code := runKeys([]string{"list", "-db", db, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errb.String())
	}
	var list []keyJSON
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 2 || list[1].KID != added.KID ||
		!list[0].RetiredAt.Equal(added.SignsFrom) || !list[0].DroppedAfter.Equal(added.SignsFrom.Add(provider.DefaultAccessTTL)) {
		t.Fatalf("list printed %q (%v)", out.String(), err)
	}
	out.Reset()
	runKeys([]string{"list", "-db", db}, &out, &errb)
	if !strings.Contains(out.String(), "signing") || !strings.Contains(out.String(), "next") {
		t.Fatalf("list table: %q", out.String())
	}
	for _, bad := range [][]string{{}, {"frobnicate"}, {"list", "-db", db, "extra"}} {
		if code := runKeys(bad, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
}
