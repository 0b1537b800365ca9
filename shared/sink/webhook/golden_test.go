package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// The requests of each content format, exactly as sent (headers that vary
// by run — the test server's address — left out), for review in diffs.
func TestGoldenRequests(t *testing.T) {
	evs := sinktest.Corpus(t, 3)
	for _, format := range []string{"JSONLINES", "JSONARRAY", "JSONOBJECT"} {
		t.Run(format, func(t *testing.T) {
			var mu sync.Mutex
			var out bytes.Buffer
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				out.WriteString(r.Method + " " + r.URL.Path + "\n")
				var names []string
				for k := range r.Header {
					if k != "Content-Length" && k != "Accept-Encoding" {
						names = append(names, k)
					}
				}
				sort.Strings(names)
				for _, k := range names {
					out.WriteString(k + ": " + strings.Join(r.Header[k], ", ") + "\n")
				}
				out.WriteString("\n")
				out.Write(body)
				out.WriteString("\n\n")
			}))
			defer srv.Close()
			cfg, _ := json.Marshal(map[string]any{"endpoint": srv.URL + "/hook", "authorization": "Bearer tok-123456789",
				"custom_headers": map[string]string{"X-Team": "sec"}, "content_format": format, "signing_secret": signingSecret})
			st := sinktest.Stream(t, "http", json.RawMessage(cfg))
			s := &Sender{Client: netguard.Policy{AllowPrivate: true}.Client(2 * time.Second), UserAgent: "logstream/test",
				Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
			if err := s.Send(context.Background(), st, deliver.Batch{Events: evs}); err != nil {
				t.Fatal(err)
			}
			sinktest.Golden(t, strings.ToLower(format), out.Bytes())
		})
	}
}

// BenchmarkEncode is the webhook's encoding and signing of 1,000 corpus
// events per request (webhooks are sent uncompressed), beside the gzip floor
// every sender is compared with.
func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	for _, c := range []struct {
		name string
		join func([]json.RawMessage) []byte
	}{{"jsonlines+sign", joinLines}, {"jsonarray+sign", joinArray}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var body []byte
			for b.Loop() {
				body = c.join(evs)
				if _, err := Sign(signingSecret, MessageID(evs), 1_800_000_000, body); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(body)))
			sinktest.ReportPerEvent(b, len(evs), len(body))
		})
	}
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
