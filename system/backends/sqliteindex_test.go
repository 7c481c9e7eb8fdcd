package backends

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// TestIndexIDs checks the mechanism, not a speed: after IndexIDs, SQLite's
// plan for FerretDB's own _id equality uses the new index instead of a scan,
// and FerretDB still finds, updates and deletes by _id.
func TestIndexIDs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := Start(ctx, Options{Mongo: Embedded})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(b.MongoURI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("idx").Collection("latest")
	docs := []any{}
	for i := range 50 {
		docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("cam-%03d", i)}, {Key: "n", Value: i}})
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}

	plan := func() string {
		t.Helper()
		conn, err := sql.Open("sqlite", "file:"+filepath.Join(b.Dir(), "idx.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var table string
		if err := conn.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = 'latest'`).Scan(&table); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE %s = ?`, table, idExpr), `"cam-007"`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	if p := plan(); !strings.Contains(p, "SCAN") {
		t.Fatalf("before IndexIDs the plan is %q; want a table scan (has FerretDB fixed its _id index?)", p)
	}
	n, err := b.IndexIDs(ctx, "idx")
	if err != nil || n < 1 {
		t.Fatalf("IndexIDs(idx) = %d, %v; want ≥ 1, nil", n, err)
	}
	if n2, err := b.IndexIDs(ctx, "idx"); err != nil || n2 != n {
		t.Fatalf("second IndexIDs(idx) = %d, %v; want %d, nil (idempotent)", n2, err, n)
	}
	if p := plan(); !strings.Contains(p, "USING INDEX") || !strings.Contains(p, "_camload_id") {
		t.Fatalf("after IndexIDs the plan is %q; want USING INDEX …_camload_id", p)
	}

	// FerretDB still works through the index.
	var got bson.M
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "cam-007"}}).Decode(&got); err != nil || got["n"] != int32(7) {
		t.Fatalf("FindOne(cam-007) = %v, %v; want n=7", got, err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "cam-007"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 70}}}}); err != nil {
		t.Fatal(err)
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "cam-007"}}).Decode(&got); err != nil || got["n"] != int32(70) {
		t.Fatalf("after update FindOne(cam-007) = %v, %v; want n=70", got, err)
	}
	if r, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "cam-008"}}); err != nil || r.DeletedCount != 1 {
		t.Fatalf("DeleteOne(cam-008) = %v, %v; want 1 deleted", r, err)
	}
	if c, err := coll.CountDocuments(ctx, bson.D{}); err != nil || c != 49 {
		t.Fatalf("CountDocuments = %d, %v; want 49", c, err)
	}

	ext, err := Start(ctx, Options{Mongo: "mongodb://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	if _, err := ext.IndexIDs(ctx, "idx"); !errors.Is(err, ErrNotSQLite) {
		t.Errorf("IndexIDs on an external MongoDB = %v; want ErrNotSQLite", err)
	}
}
