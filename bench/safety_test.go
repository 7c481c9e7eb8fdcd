package bench

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckLoopbackDrivers tries to get a remote address past the guard in
// each driver's own syntax: what counts is where the driver dials, not the
// URL's host.
func TestCheckLoopbackDrivers(t *testing.T) {
	// Not parallel: t.Setenv below keeps pgx's PG* defaults out of the way.
	for _, k := range []string{"PGHOST", "PGPORT", "PGSERVICE", "PGSERVICEFILE", "PGPASSFILE"} {
		t.Setenv(k, "")
	}
	tests := []struct {
		name, url string
		ok        bool
	}{
		// PostgreSQL (pgx): host=/port= in the query win over the URL host.
		{"pg loopback", "postgres://postgres@127.0.0.1:5432/postgres", true},
		{"pg localhost", "postgresql://postgres@localhost/postgres?sslmode=disable", true},
		{"pg query host remote", "postgres://postgres@127.0.0.1:1/postgres?host=db.example.com&port=5432", false},
		{"pg query host remote IP", "postgres://postgres@127.0.0.1:1/postgres?host=10.0.0.5", false},
		{"pg query host unix", "postgres://postgres@127.0.0.1:1/postgres?host=/var/run/postgresql&port=5432", true},
		{"pg multi-host fallback remote", "postgres://postgres@127.0.0.1:5432,db.example.com:5432/postgres", false},
		{"pg query multi-host remote", "postgres://postgres@127.0.0.1/postgres?host=127.0.0.1,10.1.1.1", false},
		{"pg unix path in query", "postgres:///postgres?host=/tmp", true},
		{"pg escaped path host (pgx cannot parse it)", "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres", false},
		{"pg hostname resolving nowhere", "postgres://postgres@pg.internal/postgres", false},
		{"pg password in url", "postgres://postgres:s3cret@127.0.0.1/postgres", true},
		// MongoDB: every seed host; SRV always refused (resolved by DNS).
		{"mongo loopback", "mongodb://127.0.0.1:27017/db", true},
		{"mongo seeds all local", "mongodb://127.0.0.1:1,localhost:2,[::1]:3/?replicaSet=rs0", true},
		{"mongo seed remote", "mongodb://127.0.0.1:1,db.example.com:2/?replicaSet=rs0", false},
		{"mongo seed remote last", "mongodb://localhost,127.0.0.2,10.0.0.1", false},
		{"mongo srv localhost", "mongodb+srv://localhost/db", false},
		{"mongo srv upper case", "MONGODB+SRV://127.0.0.1/db", false},
		{"mongo unix socket", "mongodb://%2Ftmp%2Fmongodb-27017.sock/db", true},
		{"mongo userinfo trick", "mongodb://127.0.0.1:1@db.example.com/db", false},
		// Redis (go-redis ParseURL).
		{"redis loopback", "redis://127.0.0.1:6379/0", true},
		{"redis empty host is localhost", "redis:///0", true},
		{"redis remote", "rediss://cache.example.com:6380", false},
		{"redis remote with password", "redis://:pw@10.2.3.4:6379", false},
		{"redis unix", "unix:///tmp/redis.sock?db=1", true},
		// HTTP.
		{"http loopback", "http://127.0.0.1:8080/x", true},
		{"http ipv4-mapped loopback", "http://[::ffff:127.0.0.1]:80/", true},
		{"http unspecified", "http://0.0.0.0:8080", false},
		{"http decimal IP", "http://2130706433/", false},
		{"http localhost subdomain", "http://localhost.example.com/", false},
		{"http userinfo trick", "http://127.0.0.1:80@example.com/", false},
		{"not a url", "127.0.0.1:5432", false},
		{"keyword DSN", "host=10.0.0.1 port=5432", false},
	}
	for _, tc := range tests {
		err := checkLoopback(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: checkLoopback(%q) = %v; want ok=%t", tc.name, tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") || err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: error shows the password: %v", tc.name, err)
		}
	}
	// Refusals of hosts that exist but are remote are ErrRemote.
	for _, u := range []string{
		"postgres://postgres@127.0.0.1:1/postgres?host=db.example.com",
		"mongodb+srv://localhost/db",
		"mongodb://127.0.0.1,db.example.com",
		"rediss://cache.example.com",
	} {
		if err := checkLoopback(u); !errors.Is(err, ErrRemote) {
			t.Errorf("checkLoopback(%q) = %v; want ErrRemote", u, err)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"redis://:s3cret@127.0.0.1:6379", "redis://:xxx@127.0.0.1:6379"},
		{"postgres://u:s3cret@127.0.0.1/db?host=/tmp", "postgres://u:xxx@127.0.0.1/db?host=/tmp"},
		{"postgres://u@127.0.0.1/db?password=s3cret", "postgres://u@127.0.0.1/db?password=xxx"},
		{"host=127.0.0.1 password=s3cret", "host=127.0.0.1 password=xxx"},
		{"http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
