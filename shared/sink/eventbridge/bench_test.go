package eventbridge

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// accepted answers every call in process, as EventBridge would a call of 10
// good entries, and counts the request bodies' bytes: the SDK's whole send
// path with no network.
type accepted struct{ wire int }

var acceptedBody = `{"FailedEntryCount":0,"Entries":[` + strings.TrimSuffix(strings.Repeat(`{"EventId":"6a7e8feb-b491-4cf7-a9f1-bf3703467718"},`, 10), ",") + `]}`

func (a *accepted) RoundTrip(r *http.Request) (*http.Response, error) {
	n, _ := io.Copy(io.Discard, r.Body)
	r.Body.Close()
	a.wire += int(n)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(acceptedBody)), ContentLength: int64(len(acceptedBody)), Request: r}, nil
}

func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	bs := batches(evs)

	// The entries of every batch (parse the type and timestamp, copy the
	// Detail, size them): what this package adds. Its bytes/event is the
	// entry size EventBridge counts, not the wire.
	b.Run("entries", func(b *testing.B) {
		cfg := &destination.EventBridgeConfig{EventBusARN: busEU, Region: "eu-west-1", Source: "logstream"}
		b.ReportAllocs()
		size := 0
		for b.Loop() {
			size = 0
			for _, batch := range bs {
				size += encode(cfg, batch).size
			}
		}
		sinktest.ReportPerEvent(b, len(evs), size)
	})

	// Send through the SDK (serialize, SigV4, parse the answer) to an
	// in-process transport: bytes/event is the JSON body on the wire
	// (PutEvents is not compressed).
	b.Run("sdk-send", func(b *testing.B) {
		rt := &accepted{}
		s := New(testConfig("http://eventbridge.invalid", &http.Client{Transport: rt}))
		st := busStream(b, busEU, nil)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			rt.wire = 0
			for _, batch := range bs {
				if err := s.Send(ctx, st, deliver.Batch{Events: batch}); err != nil {
					b.Fatal(err)
				}
			}
		}
		sinktest.ReportPerEvent(b, len(evs), rt.wire)
	})

	// The SDK's part alone: the same PutEvents calls with their entries
	// made beforehand, through a client with putEventsProtocol (as Sender's
	// are) and the same transport. What Send adds to it is this package's
	// entries. Then the same calls with the SDK's own awsJson protocol, as
	// every client had before putEventsProtocol: what it saves.
	for name, ours := range map[string]bool{"sdk-only": true, "sdk-only-sdk-protocol": false} {
		b.Run(name, func(b *testing.B) {
			rt := &accepted{}
			client := eventbridge.NewFromConfig(testConfig("http://eventbridge.invalid", &http.Client{Transport: rt}),
				func(o *eventbridge.Options) {
					o.Region = "eu-west-1"
					if ours {
						o.Protocol = putEventsProtocol{o.Protocol}
					}
				})
			cfg := &destination.EventBridgeConfig{EventBusARN: busEU, Region: "eu-west-1", Source: "logstream"}
			var ins []*eventbridge.PutEventsInput
			for _, batch := range bs {
				ins = append(ins, &eventbridge.PutEventsInput{Entries: encode(cfg, batch).entries})
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rt.wire = 0
				for _, in := range ins {
					if _, err := client.PutEvents(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
			}
			sinktest.ReportPerEvent(b, len(evs), rt.wire)
		})
	}

	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
