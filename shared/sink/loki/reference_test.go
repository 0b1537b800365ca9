package loki

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/lokipush"
	"github.com/logstream/logstream/shared/lokipush/pushtest"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// TestReadsAsReferencePush: what the sender sends, in both its formats, the
// bridge's parser reads exactly as the reference push of the same events
// (pushtest, written with Loki's own types), so what the bridge's and the
// archive's tests hold for those pushes holds for this sender's too.
func TestReadsAsReferencePush(t *testing.T) {
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	evs := append(sinktest.Corpus(t, 300),
		json.RawMessage(`{"event_id":"evt-no-timestamp","action":"Ping"}`),
		json.RawMessage(`{"event_id":"evt-\"quoted\"","request_id":"req-é","timestamp":"2026-11-24T07:00:00.5Z"}`),
		json.RawMessage(`{"event_id":"`+string(bytes.Repeat([]byte("x"), 2000))+`","timestamp":"2026-11-24T07:00:01Z"}`),
		json.RawMessage(`{"event_id":7,"timestamp":"not a time"}`),
	)
	parse := func(t *testing.T, body []byte, ct, ce string) *lokipush.Request {
		t.Helper()
		req, err := lokipush.Parse(bytes.NewReader(body), ct, ce, lokipush.Limits{})
		if err != nil {
			t.Fatalf("Parse(%s, %q): %v", ct, ce, err)
		}
		return req
	}
	var want *lokipush.Request
	for _, b := range pushtest.Bodies(t, evs, now) {
		got := parse(t, b.Body, b.ContentType, b.ContentEncoding)
		if want != nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("pushtest's %s reads differently from its other forms", b.Name)
		}
		want = got
	}
	for _, format := range []string{destination.LokiFormatProtobuf, destination.LokiFormatJSON} {
		t.Run(format, func(t *testing.T) {
			cfg := &destination.GrafanaLokiConfig{Hostname: "loki.example", Format: format, Labels: map[string]string{"env": "prod"}}
			body, ct, ce, err := Encode(sinktest.Stream(t, destination.GrafanaLoki, cfg), cfg, evs, now)
			if err != nil {
				t.Fatal(err)
			}
			got := parse(t, body, ct, ce)
			if len(got.Streams) != 1 || !reflect.DeepEqual(got.Streams[0].Labels, want.Streams[0].Labels) {
				t.Fatalf("streams %+v, want one labelled %v", got.Streams, want.Streams[0].Labels)
			}
			g, w := got.Streams[0].Entries, want.Streams[0].Entries
			for i := range min(len(g), len(w)) {
				if !reflect.DeepEqual(g[i], w[i]) {
					t.Fatalf("entry %d:\n got %+v\nwant %+v", i, g[i], w[i])
				}
			}
			if len(g) != len(w) {
				t.Fatalf("%d entries, want %d", len(g), len(w))
			}
		})
	}
}
