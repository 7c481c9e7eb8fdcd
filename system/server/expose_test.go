package server

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/camload/camload/internal/cfgerr"
)

func TestValidateRefusesExposedAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		loopback bool
	}{
		{"127.0.0.1:0", true},
		{"127.3.2.1:8081", true},
		{"localhost:8081", true},
		{"LocalHost:0", true},
		{"[::1]:8081", true},
		{":8081", false},
		{"0.0.0.0:8081", false},
		{"[::]:8081", false},
		{"192.168.1.10:8081", false},
		{"[fe80::1]:8081", false},
		{"camhost:8081", false}, // a name other than localhost is not resolved
		{"localhost.example.com:1", false},
	} {
		for _, field := range []string{"listen", "admin"} {
			o := Options{Config: validConfig(t)}
			if field == "listen" {
				o.Listen = tc.addr
			} else {
				o.Admin = tc.addr
			}
			err := o.Validate()
			var ce *cfgerr.Error
			switch {
			case tc.loopback && err != nil:
				t.Errorf("%s %q: Validate() = %v; want nil (loopback)", field, tc.addr, err)
			case !tc.loopback && (!errors.As(err, &ce) || ce.Field != field || !strings.Contains(err.Error(), "--expose")):
				t.Errorf("%s %q: Validate() = %v; want a %s error naming --expose", field, tc.addr, err, field)
			}
			o.Expose = true
			if err := o.Validate(); err != nil {
				t.Errorf("%s %q with Expose: Validate() = %v; want nil", field, tc.addr, err)
			}
		}
	}
}

func TestWarnExposed(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	warnExposed(log, "127.0.0.1:8080", "0.0.0.0:8081")
	out := buf.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "admin=0.0.0.0:8081") || !strings.Contains(out, "pprof") {
		t.Errorf("warnings for a loopback API and an exposed admin = %q; want one WARN naming the admin address", out)
	}
	buf.Reset()
	warnExposed(log, "[::]:8080", "192.168.1.10:8081")
	if out := buf.String(); strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, "listen=[::]:8080") {
		t.Errorf("warnings for two exposed addresses = %q; want two", out)
	}
	buf.Reset()
	warnExposed(log, "127.0.0.1:1", "[::1]:2")
	if buf.Len() != 0 {
		t.Errorf("warnings for loopback addresses: %q", buf.String())
	}
}

func TestRedactArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://:hunter2@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"--redis-url=redis://u:hunter2@127.0.0.1:6379/0", "--redis-url=redis://u:xxxxx@127.0.0.1:6379/0"},
		{"mongodb://app:hunter2@127.0.0.1:27017,127.0.0.2:27017/?replicaSet=rs", "mongodb://app:xxxxx@127.0.0.1:27017,127.0.0.2:27017/?replicaSet=rs"},
		{"postgres://pg@127.0.0.1/db?password=hunter2&sslmode=disable", "postgres://pg@127.0.0.1/db?password=xxxxx&sslmode=disable"},
		{"host=127.0.0.1 user=pg password=hunter2 dbname=x", "host=127.0.0.1 user=pg password=xxxxx dbname=x"},
		{"redis://:hunter2%zz@127.0.0.1:6379", "redis://xxxxx@127.0.0.1:6379"}, // unparsable
		// Left alone: no password.
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{"--listen=127.0.0.1:0", "--listen=127.0.0.1:0"},
		{"serve", "serve"},
		{"embedded", "embedded"},
	} {
		got := RedactArgs([]string{tc.in})[0]
		if got != tc.want || strings.Contains(got, "hunter2") {
			t.Errorf("RedactArgs(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if HasPassword(tc.in) != (tc.in != tc.want) {
			t.Errorf("HasPassword(%q) = %v", tc.in, HasPassword(tc.in))
		}
	}
}

// TestAdminCmdlineRedacted: /debug/pprof/cmdline of the served admin
// handler shows the arguments without passwords; the rest of the admin
// handler is passed through.
func TestAdminCmdlineRedacted(t *testing.T) {
	saved := os.Args
	os.Args = []string{"camload", "serve", "--redis-url", "redis://:hunter2@127.0.0.1:6379/0", "--mongo-uri=mongodb://u:pw2@127.0.0.1:27017"}
	defer func() { os.Args = saved }()
	inner := http.NewServeMux()
	inner.HandleFunc("/debug/pprof/cmdline", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, strings.Join(os.Args, "\x00")) })
	inner.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(adminHandler(inner))
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	got := get("/debug/pprof/cmdline")
	want := "camload\x00serve\x00--redis-url\x00redis://:xxxxx@127.0.0.1:6379/0\x00--mongo-uri=mongodb://u:xxxxx@127.0.0.1:27017"
	if got != want {
		t.Errorf("cmdline = %q; want %q", got, want)
	}
	if got := get("/healthz"); got != "ok" {
		t.Errorf("/healthz through the wrapper = %q", got)
	}
}
