package cfgerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorNamesInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		// field only
		{Field("fleet.cameras", "must be > 0, got %d", -1), "fleet.cameras: must be > 0, got -1"},
		// file, line and field
		{&Error{File: "s.yaml", Line: 3, Field: "seed", Err: errors.New("not a number")}, "s.yaml:3: seed: not a number"},
		// usage
		{Usage("unknown mode %q", "x"), `unknown mode "x"`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q; want %q", got, tc.want)
		}
	}
	wrapped := fmt.Errorf("loading: %w", Join(nil, Field("a", "bad")))
	if !Is(wrapped) {
		t.Errorf("Is(%v) = false; want true", wrapped)
	}
	if Is(errors.New("plain")) {
		t.Errorf("Is(plain) = true; want false")
	}
}
