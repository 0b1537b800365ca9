package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/envelope"
)

// BenchmarkDeliveryCompression is what compressing delivery messages saves
// and costs on the vendor-shaped auth logs (events/auth), one request each
// to two streams: x-smaller is plain over compressed bytes of the delivery
// messages (attributes included), and the "compress" run is the share of a
// request's ingestion spent compressing (its ns/op beside "handle"'s, which
// includes it). docs/cost.md, "Where it can go lower".
func BenchmarkDeliveryCompression(b *testing.B) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, name := range []string{"auth/okta.json", "auth/auth0.json", "auth/stytch.json", "auth/mixed.ndjson"} {
		raw, err := samples.FS.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		ct := "application/json"
		if strings.HasSuffix(name, ".ndjson") {
			ct = "application/x-ndjson"
		}
		req := request(samples.Fresh(raw, now), map[string]string{"content-type": ct}, false)
		pub := &fakePublisher{}
		s := newService(&fakeStreams{active: twoStreams}, pub)
		s.Stamper.Now = func() time.Time { return now }
		if resp, _ := s.Handle(context.Background(), req); resp.StatusCode != 202 {
			b.Fatalf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		// The delivery messages as they were packed, and as sent.
		var plain []envelope.Message
		plainBytes, sentBytes := 0, 0
		for _, m := range pub.byQueue["q-http"] {
			env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
			if err != nil {
				b.Fatal(err)
			}
			p, err := envelope.Pack(env.ProjectID, env.StreamID, env.Events, envelope.MaxMessageBytes)
			if err != nil || len(p) != 1 {
				b.Fatalf("repack: %v", err)
			}
			plain = append(plain, p[0])
			plainBytes += p[0].Size()
			sentBytes += m.Size()
		}
		b.Run(name+"/handle", func(b *testing.B) {
			s := newService(&fakeStreams{active: twoStreams}, nil)
			s.Publisher = discard{}
			s.CacheTTL = time.Hour
			s.Stamper.Now = func() time.Time { return now }
			for b.Loop() {
				if resp, _ := s.Handle(context.Background(), req); resp.StatusCode != 202 {
					b.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
		})
		b.Run(name+"/compress", func(b *testing.B) {
			msgs := make([]envelope.Message, len(plain))
			for b.Loop() {
				copy(msgs, plain)
				if err := envelope.CompressAll(msgs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(plainBytes)/float64(sentBytes), "x-smaller")
			b.ReportMetric(float64(plainBytes)/float64(len(plain)), "plain-B/msg")
			b.ReportMetric(float64(sentBytes)/float64(len(plain)), "sent-B/msg")
		})
	}
}
