package deadletter

import (
	"cmp"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/stream"
)

const (
	testProject = "proj_a"
	testStream  = "str_0123456789abcdef0123456789abcdef"
)

func TestParse(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	parkedAt := now.Add(-time.Minute)
	pad := strings.Repeat("session started; ", 20)
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"a","message":"` + pad + `"}`), json.RawMessage(`{"event_id":"b","message":"` + pad + `"}`)}
	body := string(mustPack(t, evs))
	gz := mustCompress(t, body)
	notJSON := `{"v":1,"not":"an envelope","pad":"` + pad + `"}`
	gzNotJSON := mustCompress(t, notJSON)
	tests := []struct {
		name       string
		m          Message
		wantReason stream.DeadLetterReason
		wantError  string
		wantEvents int
		wantAt     time.Time
		wantSource string
		// wantBody is the undecodable body kept ("": the message's own)
		wantBody string
	}{
		{"parked with a reason", Message{MessageID: "dlq-1", Body: body, Attributes: map[string]string{
			envelope.AttrParkedCode: "rejected", envelope.AttrParkedReason: "400: bad line", envelope.AttrParkedFrom: "src-1",
			envelope.AttrParkedAt: parkedAt.Format(time.RFC3339Nano), envelope.AttrParkedReceives: "3"}},
			stream.ReasonRejected, "400: bad line", 2, parkedAt, "src-1", ""},
		{"moved by SQS redrive", Message{MessageID: "src-2", Body: body, SentAt: now.Add(-time.Hour)},
			stream.ReasonUnrecorded, "exhausted receives, no reason recorded", 2, now, "src-2", ""},
		{"reason from before codes", Message{MessageID: "dlq-3", Body: body, Attributes: map[string]string{envelope.AttrParkedReason: "401"}},
			stream.ReasonPermanent, "401", 2, now, "dlq-3", ""},
		{"undecodable", Message{MessageID: "dlq-4", Body: "not json", Attributes: map[string]string{
			envelope.AttrProjectID: testProject, envelope.AttrStreamID: testStream}},
			stream.ReasonUndecodable, "undecodable message:", 1, now, "dlq-4", ""},
		{"unknown code", Message{MessageID: "dlq-5", Body: body, Attributes: map[string]string{envelope.AttrParkedCode: "bogus"}},
			stream.ReasonUnrecorded, "exhausted receives", 2, now, "dlq-5", ""},
		{"compressed, moved by SQS redrive", Message{MessageID: "src-6", Body: gz, Attributes: map[string]string{
			envelope.AttrEncoding: envelope.EncodingGzip, envelope.AttrProjectID: testProject, envelope.AttrStreamID: testStream}},
			stream.ReasonUnrecorded, "exhausted receives", 2, now, "src-6", ""},
		{"compressed, parked unreadable as it came", Message{MessageID: "dlq-7", Body: "!!not base64", Attributes: map[string]string{
			envelope.AttrEncoding: envelope.EncodingGzip, envelope.AttrParkedCode: "undecodable", envelope.AttrParkedReason: "undecodable message: x",
			envelope.AttrProjectID: testProject, envelope.AttrStreamID: testStream}},
			stream.ReasonUndecodable, "undecodable message: x", 1, now, "dlq-7", ""},
		{"compressed, inflates to no envelope", Message{MessageID: "dlq-8", Body: gzNotJSON, Attributes: map[string]string{
			envelope.AttrEncoding: envelope.EncodingGzip, envelope.AttrProjectID: testProject, envelope.AttrStreamID: testStream}},
			stream.ReasonUndecodable, "undecodable message:", 1, now, "dlq-8", notJSON},
		{"unknown encoding", Message{MessageID: "dlq-9", Body: body, Attributes: map[string]string{
			envelope.AttrEncoding: "br", envelope.AttrProjectID: testProject, envelope.AttrStreamID: testStream}},
			stream.ReasonUndecodable, "undecodable message: decode envelope: unknown encoding", 1, now, "dlq-9", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Parse(tc.m, "http", now)
			l := p.Letter
			if l.Reason != tc.wantReason || !strings.HasPrefix(l.Error, tc.wantError) || l.Events != tc.wantEvents ||
				!l.ParkedAt.Equal(tc.wantAt) || l.SourceMessageID != tc.wantSource || !ValidLetterID(l.ID) || l.DestinationType != "http" {
				t.Fatalf("Parse = %+v", l)
			}
			if len(p.Events) != tc.wantEvents {
				t.Fatalf("%d events, want %d", len(p.Events), tc.wantEvents)
			}
			if tc.wantReason == stream.ReasonUndecodable {
				var raw string
				want := cmp.Or(tc.wantBody, tc.m.Body)
				if json.Unmarshal(p.Events[0], &raw) != nil || raw != want || l.ProjectID != testProject {
					t.Fatalf("undecodable body kept as %s in project %q", p.Events[0], l.ProjectID)
				}
			} else if l.ProjectID != testProject || l.StreamID != testStream {
				t.Fatalf("project %q stream %q", l.ProjectID, l.StreamID)
			}
		})
	}
	// The same parking twice is one letter; other events, another.
	a := Parse(tests[0].m, "http", now)
	b := Parse(tests[0].m, "http", now.Add(time.Hour))
	if a.Letter.ID != b.Letter.ID {
		t.Fatal("the same parked message got two ids")
	}
	// A delivery message is the same letter compressed or not.
	if Parse(tests[1].m, "http", now).Letter.ID != Parse(Message{MessageID: "src-2", Body: gz,
		Attributes: map[string]string{envelope.AttrEncoding: envelope.EncodingGzip}}, "http", now).Letter.ID {
		t.Fatal("a compressed message and its plain form are different letters")
	}
	other := tests[0].m
	other.Body = string(mustPack(t, evs[:1]))
	if Parse(other, "http", now).Letter.ID == a.Letter.ID {
		t.Fatal("different events got the same id")
	}
}

// mustCompress is body as ingestion sends it (envelope.Compress).
func mustCompress(t testing.TB, body string) string {
	c, err := envelope.Compress(envelope.Message{Body: []byte(body)})
	if err != nil || c.Attributes[envelope.AttrEncoding] != envelope.EncodingGzip {
		t.Fatalf("not compressed: %v", err)
	}
	return string(c.Body)
}

func mustPack(t testing.TB, evs []json.RawMessage) []byte {
	msgs, err := envelope.Pack(testProject, testStream, evs, envelope.MaxMessageBytes)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	return msgs[0].Body
}

// FuzzParse: whatever a DLQ holds, Parse keeps it whole as a letter with a
// valid id and a reason, and never panics.
func FuzzParse(f *testing.F) {
	packed := string(mustPack(f, []json.RawMessage{json.RawMessage(`{"event_id":"a"}`)}))
	f.Add(packed, "rejected", testProject, testStream, "")
	f.Add(mustCompress(f, packed+strings.Repeat(" ", 200)), "", testProject, testStream, envelope.EncodingGzip)
	f.Add(`{"v":1,"project_id":"p","stream_id":"s","events":[]}`, "", "", "", "")
	f.Add(`{"v":2}`, "gone", "p", "str_x", "")
	f.Add("\x00\xff", "undecodable", "", "", envelope.EncodingGzip)
	f.Fuzz(func(t *testing.T, body, code, project, streamID, encoding string) {
		m := Message{MessageID: "m", Body: body, Attributes: map[string]string{
			envelope.AttrParkedCode: code, envelope.AttrProjectID: project, envelope.AttrStreamID: streamID, envelope.AttrEncoding: encoding}}
		p := Parse(m, "http", time.Unix(0, 0))
		l := p.Letter
		if !ValidLetterID(l.ID) || !l.Reason.Valid() || l.Events != len(p.Events) || l.Events == 0 {
			t.Fatalf("Parse(%q) = %+v with %d events", body, l, len(p.Events))
		}
		// A compressed body is inflated within envelope.MaxMessageBytes.
		if l.Bytes > max(len(body), envelope.MaxMessageBytes) {
			t.Fatalf("a letter of %d bytes from a body of %d", l.Bytes, len(body))
		}
		if l.ProjectID != "" && !stream.ValidProjectID(l.ProjectID) {
			t.Fatalf("letter in project %q", l.ProjectID)
		}
		if l.Reason == stream.ReasonUndecodable {
			var raw string
			if json.Unmarshal(p.Events[0], &raw) != nil || utf8.ValidString(body) && raw != body && encoding == "" || !utf8.ValidString(raw) {
				t.Fatalf("undecodable body not kept: %s", p.Events[0])
			}
		}
	})
}
