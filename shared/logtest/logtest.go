// Package logtest helps tests check logstream's nil-logger rule: a handler
// whose Log is nil logs to slog.Default().
package logtest

import (
	"bytes"
	"log/slog"
	"testing"
)

// Default sends slog.Default() to the returned buffer until t ends. Tests
// that call it must not run in parallel: the default logger is global.
func Default(t testing.TB) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &buf
}
