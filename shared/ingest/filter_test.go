package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/stream"
)

// queued returns the types of the events queued for each stream, in order.
func queued(t *testing.T, pub *fakePublisher) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, msgs := range pub.byQueue {
		for _, m := range msgs {
			env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range env.Events {
				var ev struct{ Type string }
				if err := json.Unmarshal(raw, &ev); err != nil {
					t.Fatal(err)
				}
				out[env.StreamID] = append(out[env.StreamID], ev.Type)
			}
		}
	}
	return out
}

// A stream's filters decide what is queued for it: an event they leave out
// never reaches that stream's queue, while another stream gets it; the
// answer counts it; lifecycle events (Emit) pass every stream's filters.
func TestFiltersApplyPerStream(t *testing.T) {
	logins := &stream.Filters{Include: []stream.Rule{{Field: "type", Match: "login.*"}}}
	none := &stream.Filters{Include: []stream.Rule{{Field: "type", In: []string{"never"}}}}
	st := &fakeStreams{active: func(string) ([]stream.Stream, error) {
		return []stream.Stream{
			{ID: "str_all", DestinationType: "http"},
			{ID: "str_logins", DestinationType: "http", Filters: logins},
			{ID: "str_none", DestinationType: "http", Filters: none},
		}, nil
	}}
	pub := &fakePublisher{}
	svc := newService(st, pub)
	svc.CacheTTL = time.Hour
	body := `{"type":"login.ok"}` + "\n" + `{"type":"logout"}` + "\n" + `{"type":"login.failed"}`
	evs, err := logevent.Parse([]byte(body), logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Ingest(context.Background(), "proj_demo", evs)
	if err != nil {
		t.Fatal(err)
	}
	// str_logins leaves out one event, str_none all three.
	if want := (Result{Accepted: 3, Streams: 3, Messages: 2, Filtered: 4}); res != want {
		t.Fatalf("Ingest = %+v, want %+v", res, want)
	}
	got := queued(t, pub)
	want := map[string][]string{
		"str_all":    {"login.ok", "logout", "login.failed"},
		"str_logins": {"login.ok", "login.failed"},
	}
	if len(got) != len(want) || !slices.Equal(got["str_all"], want["str_all"]) || !slices.Equal(got["str_logins"], want["str_logins"]) {
		t.Fatalf("queued %v, want %v", got, want)
	}

	pub.byQueue = nil
	life := logevent.Event{ID: "1", Raw: json.RawMessage(`{"event_id":"1","type":"logstream.stream.updated"}`)}
	if err := svc.Emit(context.Background(), "proj_demo", []logevent.Event{life}); err != nil {
		t.Fatal(err)
	}
	got = queued(t, pub)
	for _, id := range []string{"str_all", "str_logins", "str_none"} {
		if !slices.Equal(got[id], []string{"logstream.stream.updated"}) {
			t.Errorf("lifecycle event queued for %s: %v, want it past the filters", id, got[id])
		}
	}
	if st.calls != 1 {
		t.Errorf("streams looked up %d times, want once (cached with their compiled filters)", st.calls)
	}
}

// The JSON answer keeps its old form when no filter left anything out.
func TestResultJSONWithoutFilters(t *testing.T) {
	b, _ := json.Marshal(Result{Accepted: 2, Streams: 1, Messages: 1})
	if string(b) != `{"accepted":2,"streams":1,"messages":1}` {
		t.Fatalf("got %s", b)
	}
}

// Filters that do not compile (the API stores none such) are logged and
// the stream gets every event: too much is visible, a silent loss is not.
func TestFiltersThatDoNotCompileDropNothing(t *testing.T) {
	broken := &stream.Filters{Include: []stream.Rule{{Field: "a..b", In: []string{"x"}}}}
	st := &fakeStreams{active: func(string) ([]stream.Stream, error) {
		return []stream.Stream{{ID: "str_broken", DestinationType: "http", Filters: broken}}, nil
	}}
	pub := &fakePublisher{}
	var logs strings.Builder
	svc := newService(st, pub)
	svc.Log = slog.New(slog.NewTextHandler(&logs, nil))
	evs, err := logevent.Parse([]byte(`{"type":"a"}`+"\n"+`{"type":"b"}`), logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Ingest(context.Background(), "proj_demo", evs)
	if err != nil || res.Filtered != 0 {
		t.Fatalf("Ingest = %+v, %v", res, err)
	}
	if got := queued(t, pub)["str_broken"]; !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("queued %v, want both events", got)
	}
	if !strings.Contains(logs.String(), "do not compile") || !strings.Contains(logs.String(), "str_broken") {
		t.Fatalf("not logged: %s", logs.String())
	}
}
