package app

import (
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wailsapp/wails/v2/pkg/options"

	"github.com/qrlogin/qrlogin/app/desktop"
)

// The committed bindings (frontend/wailsjs/go, which a clean clone builds
// with) declare every method the window may call: regenerate them with
// `go tool wails generate module` after changing App.
func TestBindingsAreCurrent(t *testing.T) {
	src, err := os.ReadFile("../frontend/wailsjs/go/app/App.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[*App]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if name == "Startup" || name == "Shutdown" { // Wails' callbacks, not bound
			continue
		}
		if !strings.Contains(string(src), "export function "+name+"(") {
			t.Errorf("App.d.ts lacks %s: regenerate the bindings", name)
		}
	}
}

// Before Startup, the window's calls do nothing and the view is loading.
func TestBeforeStartup(t *testing.T) {
	a := New(desktop.Options{})
	a.Refresh()
	a.Cancel()
	a.Logout()
	a.LogIn()
	a.SwitchAccount()
	a.Shown("pending")
	if err := a.UseServer("http://127.0.0.1:1"); err != nil {
		t.Error(err)
	}
	if v := a.GetView(); v.State != desktop.ViewLoading {
		t.Errorf("view = %+v", v)
	}
}

// A second launch that arrives before Startup has no window to bring
// forward: it is logged, and does not end the app (Wails' runtime calls
// log.Fatal without a context).
func TestBringForwardBeforeStartup(t *testing.T) {
	var logs strings.Builder
	a := New(desktop.Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	BringForward(a)(options.SecondInstanceData{Args: []string{"--data-dir", "/tmp/q"}})
	if want := `msg="brought forward" args="[--data-dir /tmp/q]"`; !strings.Contains(logs.String(), want) {
		t.Errorf("logged %q, want %q", logs.String(), want)
	}
}
