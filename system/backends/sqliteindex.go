package backends

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
)

// ferretTables is FerretDB 1.24's metadata table in each SQLite database
// file (one row per collection) and idExpr is the expression its SQLite
// backend compares for an _id equality. FerretDB's own _id index is built
// on a different expression (_ferretdb_sjson->"_id"), so SQLite cannot use
// it and every lookup, update or delete by _id scans the table: at 1000
// cameras a latest-state upsert costs ~10 ms instead of ~0.2 ms.
const (
	ferretTables = "_ferretdb_collections"
	idExpr       = `_ferretdb_sjson->'$._id'`
)

// ErrNotSQLite is returned by IndexIDs when FerretDB is not embedded on
// SQLite (external MongoDB or the PostgreSQL backend need no such index).
var ErrNotSQLite = errors.New("backends: not embedded FerretDB on SQLite")

// IndexIDs adds to every collection of database db an SQLite index on the
// exact expression embedded FerretDB compares for _id equality, so lookups,
// updates and deletes by _id use an index as they do on MongoDB. Call it
// after the collections exist (e.g. after the store created its indexes);
// it is idempotent and returns the number of tables indexed. It is safe to
// call while FerretDB serves: SQLite serialises the schema change.
func (b *Backends) IndexIDs(ctx context.Context, db string) (int, error) {
	if b.dir == "" {
		return 0, ErrNotSQLite
	}
	if db == "" || strings.ContainsAny(db, `/\`) {
		return 0, fmt.Errorf("backends: index ids: bad database name %q", db)
	}
	path := filepath.Join(b.dir, db+".sqlite")
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("backends: index ids of %q: %w", db, err)
	}
	q := url.Values{"_pragma": {"busy_timeout(10000)"}}
	conn, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		return 0, fmt.Errorf("backends: opening %s: %w", path, err)
	}
	defer conn.Close()

	rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT table_name FROM %q", ferretTables))
	if err != nil {
		return 0, fmt.Errorf("backends: listing collections of %q: %w", db, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, fmt.Errorf("backends: listing collections of %q: %w", db, err)
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("backends: listing collections of %q: %w", db, err)
	}
	for _, t := range tables {
		stmt := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %q ON %q (%s)", t+"_camload_id", t, idExpr)
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return 0, fmt.Errorf("backends: indexing _id of table %s in %q: %w", t, db, err)
		}
	}
	return len(tables), nil
}
