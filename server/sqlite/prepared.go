package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// prepared caches a pool's prepared statements by their SQL, so that SQLite
// parses each statement once instead of on every call (a quarter of the
// server's CPU at load, before).
type prepared struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

func newPrepared(pool *sql.DB) *prepared {
	return &prepared{pool: pool, m: make(map[string]*sql.Stmt)}
}

// stmt returns q prepared, preparing it on first use. It must not be called
// by a goroutine that holds a transaction of the writer pool: preparing needs
// a connection, and the writer has one.
func (p *prepared) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	p.mu.Lock()
	st := p.m[q]
	p.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := p.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.m[q]; old != nil {
		st.Close()
		return old, nil
	}
	p.m[q] = st
	return st, nil
}

// ready returns q if it was prepared already, else nil; it never prepares.
func (p *prepared) ready(q string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[q]
}

func (p *prepared) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.m {
		st.Close()
		delete(p.m, q)
	}
}

// row runs a one-row read on the reader pool.
func (db *DB) row(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := db.rp.stmt(ctx, q)
	if err != nil {
		return db.r.QueryRowContext(ctx, q, args...) // reports the error through the Row
	}
	return st.QueryRowContext(ctx, args...)
}

// rows runs a read on the reader pool.
func (db *DB) rows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := db.rp.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec runs one write statement, prepared (before, outside any
// transaction), as a write of its own (inTx).
func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.execThen(ctx, nil, q, args...)
}

// execThen is exec, and then, if not nil, runs with the statement's result
// once it is committed (inTxThen).
func (db *DB) execThen(ctx context.Context, then func(sql.Result), q string, args ...any) (sql.Result, error) {
	st, err := db.wp.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	var after func()
	if then != nil {
		after = func() { then(res) }
	}
	err = db.inTxThen(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return err
	}, after)
	return res, err
}

// txExec runs a write in tx, prepared if Open prepared it (txStatements).
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := db.wp.ready(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// txQuery runs a query in tx, prepared if Open prepared it.
func (db *DB) txQuery(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := db.wp.ready(q); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// txRow runs a one-row read in tx, prepared if Open prepared it.
func (db *DB) txRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := db.wp.ready(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}
