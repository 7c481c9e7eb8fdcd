// Package cfgerr is the error type for bad configuration and usage: every
// such error names the input (file, field, line) that was wrong. The CLI maps
// it to exit code 2.
package cfgerr

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a configuration or usage error. It is safe to copy.
type Error struct {
	File  string // file the value came from, if any
	Field string // dotted field path, e.g. "fleet.cameras"
	Line  int    // 1-based line in File, 0 when unknown
	Err   error
}

// Field returns an *Error for field with a formatted message.
func Field(field, format string, args ...any) *Error {
	return &Error{Field: field, Err: fmt.Errorf(format, args...)}
}

// Usage returns an *Error for a usage mistake that has no field.
func Usage(format string, args ...any) *Error {
	return &Error{Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether err is or wraps an *Error.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Join validates several fields at once: it returns nil when errs holds no
// non-nil error, and otherwise all of them joined, so one run of validation
// reports every bad field.
func Join(errs ...error) error { return errors.Join(errs...) }
