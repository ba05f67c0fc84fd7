// Package purge runs a store's batched deletions: one transaction a batch,
// so that a backlog does not hold the database's writer for long.
package purge

import (
	"context"
	"log/slog"
)

// Batch is how many rows one purge transaction removes at most.
const Batch = 1000

// Run calls del(ctx, Batch) until it removes fewer than Batch rows or ctx
// ends, and logs what (such as "old sessions and devices") at debug level
// with the count removed, or at error level if del fails while ctx lives.
func Run(ctx context.Context, log *slog.Logger, what string, del func(ctx context.Context, limit int) (int, error)) {
	total := 0
	for ctx.Err() == nil {
		n, err := del(ctx, Batch)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("purge "+what, "err", err)
			}
			return
		}
		total += n
		if n < Batch {
			break
		}
	}
	if total > 0 {
		log.Debug("purged "+what, "count", total)
	}
}
