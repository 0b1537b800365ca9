package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseTraceparent(t *testing.T) {
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"the specification's example", good, true},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
		{"a later version, with more fields", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", true},
		{"a later version, exactly four fields", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"version 00 with more", good + "-x", false},
		{"a later version glued to more", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"upper case", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"short", good[:54], false},
		{"not hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ParseTraceparent(c.in)
			if ok != c.ok {
				t.Fatalf("ParseTraceparent(%q) ok = %v", c.in, ok)
			}
			if ok && got.Traceparent()[3:] != c.in[3:55] {
				t.Fatalf("read %q as %q", c.in, got.Traceparent())
			}
		})
	}
}

func TestStart(t *testing.T) {
	root := Start(Context{RequestID: "req-1"})
	if !root.Valid() || root.Flags != 1 || root.RequestID != "req-1" {
		t.Fatalf("root %+v", root)
	}
	child := Start(root)
	if child.TraceID != root.TraceID || child.SpanID == root.SpanID || child.RequestID != "req-1" {
		t.Fatalf("child %+v of %+v", child, root)
	}
	parent, _ := ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	if c := Start(parent); c.TraceID != parent.TraceID || c.Flags != 0 {
		t.Fatalf("continued %+v", c)
	}
}

func TestCarrier(t *testing.T) {
	c := Start(Context{RequestID: CleanRequestID(" req 7\x00é ")})
	if c.RequestID != "req_7_é" {
		t.Fatalf("request id %q", c.RequestID)
	}
	got, ok := ParseCarrier(c.Carrier())
	if !ok || got != c {
		t.Fatalf("ParseCarrier(%q) = %+v, %v", c.Carrier(), got, ok)
	}
	c.RequestID = ""
	if got, ok := ParseCarrier(c.Carrier()); !ok || got != c {
		t.Fatalf("without a request id: %+v %v", got, ok)
	}
	long := CleanRequestID(strings.Repeat("é", 100))
	if len(long) > MaxRequestIDBytes || !utf8.ValidString(long) {
		t.Fatalf("long request id %d bytes", len(long))
	}
	if len(Start(Context{RequestID: long}).Carrier()) > MaxCarrierBytes {
		t.Fatal("carrier longer than MaxCarrierBytes")
	}
}

func TestContext(t *testing.T) {
	if _, ok := From(context.Background()); ok {
		t.Fatal("a trace from nothing")
	}
	c := Start(Context{})
	if got, ok := From(With(context.Background(), c)); !ok || got != c {
		t.Fatalf("From = %+v %v", got, ok)
	}
}

func TestSpanLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	parent := Start(Context{RequestID: "req-9"})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSpan("deliver", parent, start)
	s.Log(context.Background(), log, start.Add(1500*time.Microsecond), "events", 3)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"msg": "span", "span": "deliver", "trace_id": parent.TraceIDString(), "parent_id": parent.SpanIDString(),
		"span_id": s.Ctx.SpanIDString(), "request_id": "req-9", "duration_ms": 1.5, "events": float64(3)}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
}

// FuzzParseCarrier: whatever a message attribute holds, what is read
// writes back as itself, and a request id stays within its bounds.
func FuzzParseCarrier(f *testing.F) {
	for _, s := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 req-1", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x y", "", " ", "00-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseCarrier(s)
		if !ok {
			return
		}
		if !c.Valid() || len(c.RequestID) > MaxRequestIDBytes || strings.ContainsAny(c.RequestID, " \n") {
			t.Fatalf("ParseCarrier(%q) = %+v", s, c)
		}
		again, ok := ParseCarrier(c.Carrier())
		if !ok || again != c {
			t.Fatalf("%q read as %+v, its carrier %q as %+v", s, c, c.Carrier(), again)
		}
	})
}
