package api

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/qrlogin/qrlogin/server"
)

// tsProtocol is the frontend's copy of the protocol's vocabulary.
const tsProtocol = "../../frontend/src/protocol.ts"

// tsBlock returns the string values of the TypeScript declaration that
// starts with decl ("export const TicketState = {") up to its closing
// bracket; a value written TicketState.Key is looked up in keys.
func tsBlock(t *testing.T, src, decl string, keys map[string]string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?s)` + regexp.QuoteMeta(decl) + `(.*?)[}\]]`)
	m := re.FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("%s has no %q", tsProtocol, decl)
	}
	var out []string
	for _, v := range regexp.MustCompile(`(?:"([a-z_]+)"|TicketState\.(\w+))`).FindAllStringSubmatch(m[1], -1) {
		if v[1] != "" {
			out = append(out, v[1])
			continue
		}
		out = append(out, keys[v[2]])
	}
	return out
}

// The frontend names the ticket's states, the final ones and the error
// codes exactly as the Go definitions do: a state or code added, renamed
// or dropped on one side only fails here.
func TestTypeScriptVocabulary(t *testing.T) {
	data, err := os.ReadFile(tsProtocol)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	keys := map[string]string{} // TicketState's keys and the states they name
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+): "([a-z_]+)",$`).FindAllStringSubmatch(src, -1) {
		keys[m[1]] = m[2]
	}

	var states, final, codes []string
	for _, s := range server.States {
		states = append(states, string(s))
		if s.Final() {
			final = append(final, string(s))
		}
	}
	for _, c := range server.Codes {
		codes = append(codes, string(c))
	}
	for _, tc := range []struct {
		decl string
		want []string
	}{
		{"export const TicketState = {", states},
		{"export const FinalStates: readonly string[] = [", final},
		{"export const ErrorCode = {", codes},
	} {
		got := tsBlock(t, src, tc.decl, keys)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s %q\n  has %q\n  Go has %q", tsProtocol, tc.decl, got, want)
		}
	}
}
