package desktop

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The frontend names the event and the view states with the same strings
// as this package: a rename on one side only would leave the window blank.
func TestFrontendSharesNames(t *testing.T) {
	for file, names := range map[string][]string{
		"../../frontend/src/events.ts": {EventView},
		"../../frontend/src/view.ts": {ViewLoading, ViewPending, ViewScanned, ViewConfirmed, ViewDenied,
			ViewExpired, ViewCancelled, ViewSignedIn, ViewUnreachable, ViewError, ViewOneTap, ViewOneTapWaiting,
			ViewOneTapDenied, ViewOneTapExpired, ViewOneTapLimited, ModeEmbedded, ModeRemote},
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(file, "view.ts") { // its ticket states come from protocol.ts
			protocol, err := os.ReadFile("../../frontend/src/protocol.ts")
			if err != nil {
				t.Fatal(err)
			}
			src = append(src, protocol...)
		}
		for _, n := range names {
			if !strings.Contains(string(src), `"`+n+`"`) {
				t.Errorf("%s does not name %q", file, n)
			}
		}
	}
}

// Every JSON field of a View is declared in frontend/src/view.ts.
func TestFrontendDeclaresViewFields(t *testing.T) {
	src, err := os.ReadFile("../../frontend/src/view.ts")
	if err != nil {
		t.Fatal(err)
	}
	full := View{State: ViewScanned, Server: ServerInfo{Mode: ModeRemote, URL: "u"}, QR: &QR{Ref: "r"},
		Scanner: &Scanner{MatchCode: "12"}, Session: &Session{Device: "d"}, OneTap: &OneTap{Number: "42"}, Message: "m"}
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var keys func(v any)
	keys = func(v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, sub := range m {
			if !regexp.MustCompile(`\b` + k + `\??:`).Match(src) {
				t.Errorf("view.ts does not declare the field %q", k)
			}
			keys(sub)
		}
	}
	var tree any
	json.Unmarshal(data, &tree)
	keys(tree)
}
