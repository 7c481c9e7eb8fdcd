package loopback

import "testing"

func TestAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:80", true},
		{"127.8.9.10:0", true},
		{"[::1]:8080", true},
		{"localhost:5665", true},
		{"LocalHost:5665", true},
		{":8080", false},          // every interface
		{"0.0.0.0:8080", false},   // every interface
		{"[::]:8080", false},      // every interface
		{"10.0.0.1:80", false},    // another machine's reach
		{"example.com:80", false}, // never resolved
		{"localhost.:80", false},
		{"127.0.0.1", false}, // no port
		{"", false},
	} {
		if got := Addr(tc.addr); got != tc.want {
			t.Errorf("Addr(%q) = %v; want %v", tc.addr, got, tc.want)
		}
	}
	if !Host("::1") || Host("[::1]") || Host("") {
		t.Errorf("Host: want ::1 loopback, a bracketed or empty host not")
	}
}
