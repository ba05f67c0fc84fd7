package httpapi_test

import (
	"testing"

	"github.com/qrlogin/qrlogin/server/api"
	"github.com/qrlogin/qrlogin/server/internal/protocoltest"
	"github.com/qrlogin/qrlogin/server/node"
)

// fuzzEndpoint posts fuzzed bodies to path on a real server and fails on
// anything but a 2xx or a 4xx with the protocol's error body.
func fuzzEndpoint(f *testing.F, path string, phone bool, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, s := range badBodies() {
		f.Add([]byte(s))
	}
	h := start(f, func(c *node.Config) { c.NoRateLimits = true })
	var auth protocoltest.Auth
	if phone {
		auth = h.NewPhone("Fuzz").Auth
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := protocoltest.New(t, h.node.URL())
		r := c.Do("POST", path, auth, body)
		if r.Status >= 200 && r.Status < 300 {
			return
		}
		wantClientError(t, path, r)
	})
}

func FuzzRegisterRequest(f *testing.F) {
	fuzzEndpoint(f, api.PathAccounts, false, `{"username":"alice","password":"password1","display_name":"Alice"}`)
}

func FuzzMobileLoginRequest(f *testing.F) {
	fuzzEndpoint(f, api.PathMobileLogin, false, `{"username":"alice","password":"password1","device":{"id":"d","name":"n","platform":"p"}}`)
}

func FuzzCreateTicketRequest(f *testing.F) {
	fuzzEndpoint(f, api.PathTickets, false, `{"device":{"name":"PC","os":"linux","app":"qrlogin"}}`)
}

func FuzzScanRequest(f *testing.F) {
	fuzzEndpoint(f, api.PathMobileScan, true, `{"qr_payload":"http://127.0.0.1:8080/q/AAAAAAAAAAAAAAAAAAAAAA"}`)
}

func FuzzConfirmRequest(f *testing.F) {
	fuzzEndpoint(f, api.PathMobileConfirm, true, `{"scan_token":"AAAAAAAAAAAAAAAAAAAAAA","approve":true,"match_code":"42"}`)
}
