package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/httpapi"
	"github.com/qrlogin/qrlogin/server/oauth/provider"
	"github.com/qrlogin/qrlogin/server/web"
)

// Pages is what the server's handler takes.
var _ httpapi.Pages = web.Pages{}

func TestPagesAuthorizeShowsTheProvidersPage(t *testing.T) {
	rec := httptest.NewRecorder()
	web.Pages{}.Authorize(rec, provider.Page{
		App: api.App{ClientID: "c1", Name: "Demo Site", Scopes: []string{"openid", "profile"}, RedirectHost: "127.0.0.1:8090"},
		Ticket: api.CreateTicketResponse{Ref: "REF", PollSecret: "SECRET", QRPayload: "http://x/q/REF",
			ExpiresAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), MatchCode: "12"},
	})
	body := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Security-Policy") != web.CSP {
		t.Fatalf("status %d, CSP %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	for _, want := range []string{`"poll_secret":"SECRET"`, `"ref":"REF"`, `"match_code":"12"`, "Demo Site", "127.0.0.1:8090", "Your name and profile picture"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
