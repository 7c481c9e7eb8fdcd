package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/camload/camload/internal/cfgerr"
)

// Exit codes of every camload command.
const (
	ExitOK          = 0
	ExitFailed      = 1 // a failed gate or run
	ExitUsage       = 2 // usage or configuration error
	ExitInterrupted = 130
)

// ErrFailed marks a run that completed but failed (gate, threshold). Bare,
// its message has already been written; wrapped, ExitCode prints
// "camload: failed: <cause>" (no "camload:" of its own, so the prefix is
// not doubled).
var ErrFailed = errors.New("failed")

// ExitCode maps err to the process exit code and reports it on stderr:
// nil 0; interrupted (ctx done or context.Canceled) 130; ErrFailed 1; a
// *cfgerr.Error 2; anything else 1.
func ExitCode(ctx context.Context, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return ExitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "camload: interrupted:", err)
		return ExitInterrupted
	case errors.Is(err, ErrFailed):
		if err != ErrFailed {
			fmt.Fprintln(stderr, "camload:", err)
		}
		return ExitFailed
	case cfgerr.Is(err):
		fmt.Fprintln(stderr, "camload:", err)
		return ExitUsage
	default:
		fmt.Fprintln(stderr, "camload:", err)
		return ExitFailed
	}
}

// IsCobraUsage reports whether err is one of cobra's own usage errors
// (unknown command, wrong number of arguments, unknown flag).
func IsCobraUsage(err error) bool {
	if cfgerr.Is(err) || errors.Is(err, ErrFailed) || errors.Is(err, context.Canceled) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires ", "unknown flag", "unknown shorthand", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
