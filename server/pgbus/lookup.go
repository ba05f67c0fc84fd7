package pgbus

import (
	"context"
	"fmt"
	"time"

	"github.com/qrlogin/qrlogin/server/service"
)

var _ service.Lookup = (*Bus)(nil)

// TicketRefs implements service.Lookup: the first ref of each ticket of
// ids that exists, in one query.
//
// With LiveSessions, it reads by id, many at a time, what service.Resync
// needs and server.Store does not offer (it finds sessions by token, while
// a node's hubs know them by id), from columns of the tables of package
// postgres.
func (b *Bus) TicketRefs(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := b.pool.Query(ctx, `SELECT id, current_ref FROM tickets WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("pgbus: ticket refs: %w", err)
	}
	defer rows.Close()
	refs := make(map[string]string, len(ids))
	for rows.Next() {
		var id, ref string
		if err := rows.Scan(&id, &ref); err != nil {
			return nil, fmt.Errorf("pgbus: ticket refs: %w", err)
		}
		refs[id] = ref
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgbus: ticket refs: %w", err)
	}
	return refs, nil
}

// LiveSessions implements service.Lookup: which sessions of ids exist and
// are live at now (server.Session.Live: not revoked, not expired), in one
// query.
func (b *Bus) LiveSessions(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	rows, err := b.pool.Query(ctx, `SELECT id FROM sessions WHERE id = ANY($1) AND revoked_at IS NULL AND expires_at > $2`, ids, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("pgbus: live sessions: %w", err)
	}
	defer rows.Close()
	live := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("pgbus: live sessions: %w", err)
		}
		live[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgbus: live sessions: %w", err)
	}
	return live, nil
}
