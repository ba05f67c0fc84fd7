package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/qrlogin/qrlogin/server/oauthtest"
)

func TestOAuthConformance(t *testing.T) {
	oauthtest.Run(t, func(t *testing.T) oauthtest.OAuthAndCoreStore {
		return mustOpen(t, filepath.Join(t.TempDir(), "qrlogin.db"))
	})
}
