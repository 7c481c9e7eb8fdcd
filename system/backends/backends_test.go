package backends_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.uber.org/goleak"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system/backends"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStartEmbedded starts both embedded servers, talks to them and checks
// that Close stops them and removes the temporary directory.
func TestStartEmbedded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := backends.Start(ctx, backends.DefaultOptions)
	if err != nil {
		t.Fatalf("Start(DefaultOptions) = %v", err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.MongoURI(), "mongodb://127.0.0.1:") || !strings.HasPrefix(b.RedisURL(), "redis://127.0.0.1:") {
		t.Fatalf("MongoURI() = %q, RedisURL() = %q; want loopback URLs", b.MongoURI(), b.RedisURL())
	}
	d := b.Describe()
	if !strings.HasPrefix(d.Mongo, "ferretdb 1.24") || !strings.HasSuffix(d.Mongo, "sqlite (embedded)") ||
		!strings.HasPrefix(d.Redis, "miniredis ") || !strings.HasSuffix(d.Redis, "(embedded)") {
		t.Errorf("Describe() = %+v; want embedded FerretDB SQLite and miniredis", d)
	}

	mc, err := mongo.Connect(ctx, options.Client().ApplyURI(b.MongoURI()))
	if err != nil {
		t.Fatal(err)
	}
	coll := mc.Database("backends_test").Collection("c")
	if _, err := coll.InsertOne(ctx, map[string]any{"_id": "a", "v": 1}); err != nil {
		t.Errorf("InsertOne on embedded FerretDB = %v", err)
	}
	if n, err := coll.CountDocuments(ctx, map[string]any{}); err != nil || n != 1 {
		t.Errorf("CountDocuments = %d, %v; want 1", n, err)
	}
	if err := mc.Disconnect(ctx); err != nil {
		t.Error(err)
	}

	ro, err := redis.ParseURL(b.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(ro)
	if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Errorf("SET on miniredis = %v", err)
	}
	_ = rc.Close()

	dir := b.Dir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Dir() = %q: %v", dir, err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, Stat(%s) = %v; want the temporary directory removed", dir, err)
	}
}

// TestStartGivenDir keeps a directory the caller gave.
func TestStartGivenDir(t *testing.T) {
	dir := t.TempDir()
	b, err := backends.Start(context.Background(), backends.Options{Mongo: backends.Embedded, Dir: dir, SQLiteSync: backends.SyncFull})
	if err != nil {
		t.Fatalf("Start(Dir) = %v", err)
	}
	if d := b.Describe().Mongo; !strings.Contains(d, "synchronous=full") {
		t.Errorf("Describe().Mongo = %q; want synchronous=full named", d)
	}
	if b.RedisURL() != "" {
		t.Errorf("RedisURL() = %q without Redis; want empty", b.RedisURL())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("Close removed the caller's directory: %v", err)
	}
}

func TestStartExternal(t *testing.T) {
	b, err := backends.Start(context.Background(), backends.Options{
		Mongo: "mongodb://admin:hunter2@127.0.0.1:27017/?authSource=admin",
		Redis: "redis://:pa55@127.0.0.1:6379/0",
	})
	if err != nil {
		t.Fatalf("Start(external) = %v", err)
	}
	defer b.Close()
	if b.MongoURI() != "mongodb://admin:hunter2@127.0.0.1:27017/?authSource=admin" {
		t.Errorf("MongoURI() = %q; want the given URI", b.MongoURI())
	}
	d := b.Describe()
	if strings.Contains(d.Mongo, "hunter2") || strings.Contains(d.Redis, "pa55") {
		t.Errorf("Describe() = %+v leaks a password", d)
	}
	if d.Mongo != "mongodb://admin:xxxxx@127.0.0.1:27017/?authSource=admin" {
		t.Errorf("Describe().Mongo = %q", d.Mongo)
	}
}

func TestStartBadOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  backends.Options
		field string
	}{
		{"mongo not a URI", backends.Options{Mongo: "localhost:27017"}, "mongo"},
		{"mongo wrong scheme", backends.Options{Mongo: "postgres://x@h/db"}, "mongo"},
		{"redis wrong scheme", backends.Options{Redis: "http://127.0.0.1:6379"}, "redis"},
		{"postgres wrong scheme", backends.Options{Mongo: backends.Embedded, FerretDBPostgres: "mysql://h/db"}, "ferretdb-postgres"},
		{"unknown sqlite sync", backends.Options{Mongo: backends.Embedded, SQLiteSync: "off"}, "sqlite-sync"},
		{"postgres without embedded", backends.Options{Mongo: "mongodb://127.0.0.1:1", FerretDBPostgres: "postgres://h/db"}, "ferretdb-postgres"},
	}
	for _, tt := range tests {
		_, err := backends.Start(context.Background(), tt.opts)
		var ce *cfgerr.Error
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("%s: Start(%+v) = %v; want a cfgerr naming %q", tt.name, tt.opts, err, tt.field)
		}
	}
}

// TestStartPostgres runs FerretDB on PostgreSQL when one is available.
func TestStartPostgres(t *testing.T) {
	pg := os.Getenv("CAMLOAD_TEST_POSTGRES_URL")
	if pg == "" {
		t.Skip("CAMLOAD_TEST_POSTGRES_URL not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded, FerretDBPostgres: pg})
	if err != nil {
		t.Fatalf("Start(postgres) = %v", err)
	}
	defer b.Close()
	if !strings.Contains(b.Describe().Mongo, "postgresql (embedded") {
		t.Errorf("Describe().Mongo = %q", b.Describe().Mongo)
	}
	mc, err := mongo.Connect(ctx, options.Client().ApplyURI(b.MongoURI()))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Disconnect(context.Background())
	if err := mc.Ping(ctx, nil); err != nil {
		t.Errorf("Ping(FerretDB on PostgreSQL) = %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mongodb://u:p@h:1/db", "mongodb://u:xxxxx@h:1/db"},     // password hidden
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"}, // nothing to hide
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable"},
		{"::not a url", "(unparsable URI)"},
	}
	for _, tt := range tests {
		if got := backends.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestVersionsMatchGoMod checks the fallback version labels against go.mod.
func TestVersionsMatchGoMod(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for path, v := range map[string]string{
		"github.com/FerretDB/FerretDB":     backends.FerretDBVersion,
		"github.com/alicebob/miniredis/v2": backends.MiniredisVersion,
	} {
		if !strings.Contains(string(mod), path+" v"+v+"\n") {
			t.Errorf("go.mod does not require %s v%s; update the constant", path, v)
		}
	}
}

// FuzzRedact checks that whatever Redact returns never carries a password.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"mongodb://u:p@h:1/db", "redis://:secret@127.0.0.1:6379/0", "postgres://u@h/db",
		"mongodb://a:b@c,d:e@f/", "::", "redis://%zz@h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := backends.Redact(in)
		if out == "(unparsable URI)" {
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			return // Redacted output need not reparse; it did hide the password
		}
		if p, ok := u.User.Password(); ok && p != "xxxxx" {
			t.Errorf("Redact(%q) = %q keeps password %q", in, out, p)
		}
	})
}
