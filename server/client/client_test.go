package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/qrlogin/qrlogin/server"
	"github.com/qrlogin/qrlogin/server/api"
)

// request is what a test server saw of one request.
type request struct {
	method, path, query   string
	auth, deviceID, agent string
	contentType, body     string
}

// recorder is an httptest server that records requests and answers each
// with status and body.
type recorder struct {
	mu   sync.Mutex
	reqs []request
	srv  *httptest.Server
}

func newRecorder(t *testing.T, status int, body string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery,
			r.Header.Get("Authorization"), r.Header.Get(api.HeaderDeviceID), r.Header.Get("User-Agent"),
			r.Header.Get("Content-Type"), string(b)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) last(t *testing.T) request {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return rec.reqs[len(rec.reqs)-1]
}

func TestMobileSendsDeviceCredentials(t *testing.T) {
	rec := newRecorder(t, 200, `{"sessions":[{"id":"s1","device":{"name":"d"}}]}`)
	m := New(rec.srv.URL+"/", WithUserAgent("test-agent/1")).Mobile("devtok", "dev-1")
	got, err := m.Sessions(context.Background())
	if err != nil || len(got) != 1 || got[0].ID != "s1" || got[0].Device.Name != "d" {
		t.Fatalf("Sessions = %+v, %v", got, err)
	}
	r := rec.last(t)
	want := request{method: "GET", path: api.PathMobileSessions, auth: "Bearer devtok", deviceID: "dev-1", agent: "test-agent/1"}
	if r != want {
		t.Errorf("request = %+v, want %+v", r, want)
	}
}

func TestPostWithoutInputSendsEmptyObject(t *testing.T) {
	rec := newRecorder(t, 200, `{"state":"cancelled"}`)
	if err := New(rec.srv.URL).Cancel(context.Background(), "ref1", "secret1"); err != nil {
		t.Fatal(err)
	}
	r := rec.last(t)
	if r.method != "POST" || r.path != "/api/v1/tickets/ref1/cancel" || r.auth != "Bearer secret1" ||
		r.body != "{}" || r.contentType != "application/json" || r.query != "" {
		t.Errorf("request = %+v", r)
	}
}

func TestConfirmSendsApproveAndCode(t *testing.T) {
	rec := newRecorder(t, 200, `{"state":"confirmed"}`)
	yes := true
	state, err := New(rec.srv.URL).Mobile("t", "d").Confirm(context.Background(),
		api.ConfirmRequest{ScanToken: "st", Approve: &yes, MatchCode: "42"})
	if err != nil || state != server.StateConfirmed {
		t.Fatalf("Confirm = %q, %v", state, err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(rec.last(t).body), &body); err != nil {
		t.Fatal(err)
	}
	if body["scan_token"] != "st" || body["approve"] != true || body["match_code"] != "42" {
		t.Errorf("body = %v", body)
	}
}

func TestEmptySessionsIsEmptySlice(t *testing.T) {
	rec := newRecorder(t, 200, `{"sessions":null}`)
	got, err := New(rec.srv.URL).Mobile("t", "d").Sessions(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Sessions = %#v, %v; want an empty, non-nil slice", got, err)
	}
}

func TestQRImageURL(t *testing.T) {
	c := New("https://login.example/")
	if got, want := c.QRImageURL("abc_-", 512), "https://login.example/q/abc_-.png?px=512"; got != want {
		t.Errorf("QRImageURL = %q, want %q", got, want)
	}
	if got, want := c.QRImageURL("abc", 0), "https://login.example/q/abc.png"; got != want {
		t.Errorf("QRImageURL = %q, want %q", got, want)
	}
}
