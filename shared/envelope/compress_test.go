package envelope

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestCompressRoundTrip(t *testing.T) {
	var evs []json.RawMessage
	for i := range 400 {
		evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id":"e-%04d","type":"user.session.start","actor":{"email":"user%d@example.com"}}`, i, i%7)))
	}
	msgs, err := Pack("p", ArchiveStreamID, evs, MaxMessageBytes)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	c, err := Compress(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Attributes[AttrEncoding] != EncodingGzip || len(c.Body)*5 > len(msgs[0].Body) || c.Size() >= msgs[0].Size() {
		t.Fatalf("compressed %d → %d bytes, attributes %v", len(msgs[0].Body), len(c.Body), c.Attributes)
	}
	body, err := Inflate(string(c.Body), c.Attributes[AttrEncoding])
	if err != nil || string(body) != string(msgs[0].Body) {
		t.Fatalf("Inflate: %v", err)
	}
	if env, err := Decode(body); err != nil || len(env.Events) != 400 {
		t.Fatalf("Decode: %v", err)
	}
	if msgs[0].Attributes != nil {
		t.Fatal("Compress changed the message it was given")
	}
}

// A body that does not compress is left as it is; an unknown or broken
// encoding is an error, never a guess.
func TestCompressLeavesWhatDoesNotShrinkAndRefusesBadBodies(t *testing.T) {
	m := Message{Body: []byte(`{"v":1}`)}
	if c, _ := Compress(m); string(c.Body) != string(m.Body) || c.Attributes != nil {
		t.Fatalf("a tiny body was changed: %+v", c)
	}
	for _, tc := range []struct{ body, enc string }{{"x", "br"}, {"!!!", EncodingGzip}, {"aGVsbG8=", EncodingGzip}} {
		if _, err := Inflate(tc.body, tc.enc); err == nil {
			t.Errorf("Inflate(%q, %q) accepted it", tc.body, tc.enc)
		}
	}
	if b, err := Inflate("plain", ""); err != nil || string(b) != "plain" {
		t.Fatalf("a plain body: %q, %v", b, err)
	}
	// A bomb: more than a message's worth once inflated.
	big := Message{Body: []byte(`{"v":1,"pad":"` + strings.Repeat("a", 2*MaxMessageBytes) + `"}`)}
	c, _ := Compress(big)
	if _, err := Inflate(string(c.Body), EncodingGzip); err == nil {
		t.Fatal("a body inflating past the limit was accepted")
	}
}

func FuzzInflate(f *testing.F) {
	f.Add("H4sIAAAAAAAA/6pWKlOyMtRRKkstKsrMz1OyUlAqSk0sLclXqgUEAAD//w==", EncodingGzip)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, body, enc string) {
		out, err := Inflate(body, enc)
		if err == nil && len(out) > maxInflated {
			t.Fatalf("inflated %d bytes", len(out))
		}
		// Open is Inflate then Decode: what the first refuses, it refuses.
		env, oerr := Open(body, enc)
		if err != nil && oerr == nil {
			t.Fatalf("Open accepted what Inflate refused: %v", err)
		}
		if oerr == nil && (env.ProjectID == "" || env.StreamID == "") {
			t.Fatalf("Open returned %+v", env)
		}
	})
}

// BenchmarkCompress is what archiving costs ingestion per request beyond
// the SQS call: one 500-event request's archive message (~240 KB),
// compressed (docs/performance.md, "Event archive and replay").
func BenchmarkCompress(b *testing.B) {
	var evs []json.RawMessage
	for i := range 500 {
		evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id":"0190b5b0-0000-7000-8000-%012d","timestamp":"2026-11-24T10:00:%02d.%03dZ","type":"user.session.start","actor":{"id":"00u%d","email":"user%d@example.com"},"client":{"ip":"203.0.113.%d","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},"outcome":"success"}`, i, i%60, i, i, i, i%250)))
	}
	msgs, _ := Pack("p", ArchiveStreamID, evs, MaxMessageBytes)
	b.SetBytes(int64(len(msgs[0].Body)))
	var out Message
	for b.Loop() {
		out, _ = Compress(msgs[0])
	}
	b.ReportMetric(float64(len(msgs[0].Body))/float64(len(out.Body)), "x-smaller")
}

// Ingestion packs a delivery message by its plain size and compresses it
// after: the compressed message is never larger than the plain one (its
// attributes included), and always inflates within maxInflated, even full of
// events of the largest size ingestion accepts (200 KiB each).
func TestCompressedDeliveryInflatesWithinBound(t *testing.T) {
	const maxEvent = 200 << 10
	big := json.RawMessage(`{"event_id":"big","message":"` + strings.Repeat("session started; ", maxEvent/17-3) + `"}`)
	var small []json.RawMessage
	for i := range 3000 {
		small = append(small, json.RawMessage(fmt.Sprintf(`{"event_id":"e%04d","type":"user.session.start"}`, i)))
	}
	for _, tc := range []struct {
		name string
		evs  []json.RawMessage
	}{
		{"events of the largest size", []json.RawMessage{big, big, small[0]}},
		{"many small events", small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(big) > maxEvent {
				t.Fatalf("the big event is %d bytes", len(big))
			}
			msgs, err := Pack("proj_1", "str_1", tc.evs, MaxMessageBytes-TraceReserve)
			if err != nil {
				t.Fatal(err)
			}
			plain := append([]Message(nil), msgs...)
			for i := range msgs {
				msgs[i].Attributes = map[string]string{AttrTrace: strings.Repeat("t", MaxTraceBytes)}
				plain[i].Attributes = msgs[i].Attributes
			}
			if err := CompressAll(msgs); err != nil {
				t.Fatal(err)
			}
			n := 0
			for i, m := range msgs {
				if m.Attributes[AttrEncoding] != EncodingGzip || m.Size() > plain[i].Size() || m.Size() > MaxMessageBytes {
					t.Fatalf("message %d: %d bytes compressed, %d plain, attributes %v", i, m.Size(), plain[i].Size(), m.Attributes)
				}
				env, err := Open(string(m.Body), m.Attributes[AttrEncoding])
				if err != nil {
					t.Fatal(err)
				}
				n += len(env.Events)
			}
			if n != len(tc.evs) {
				t.Fatalf("%d events read back of %d", n, len(tc.evs))
			}
		})
	}
}
