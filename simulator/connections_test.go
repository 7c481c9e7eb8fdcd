package simulator

import (
	"io"
	"net/http"
	"testing"
)

// TestConnections counts connection churn: a keep-alive client reuses one
// connection for every snapshot of a host, a client without keep-alive
// opens one per snapshot.
func TestConnections(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Hosts = 1
	f := start(t, cfg)
	url := f.HostURLs()[0] + "/cameras/" + CameraID(0) + "/snapshot.jpg"
	get := func(c *http.Client, n int) {
		t.Helper()
		for range n {
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	keep := &http.Transport{}
	defer keep.CloseIdleConnections()
	get(&http.Client{Transport: keep}, 5)
	if got := f.Connections(); got != 1 {
		t.Errorf("after 5 keep-alive snapshots Connections() = %d; want 1", got)
	}
	get(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, 5)
	if got := f.Connections(); got != 6 {
		t.Errorf("after 5 more without keep-alive Connections() = %d; want 6", got)
	}
}
