package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func makeEvents(n, size int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		pad := strings.Repeat("x", max(0, size-30))
		out[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"e%06d","p":"%s"}`, i, pad))
	}
	return out
}

func TestPack(t *testing.T) {
	tests := []struct {
		name     string
		n, size  int
		max      int
		wantMsgs int // 0: don't check
	}{
		{"one small event", 1, 50, MaxMessageBytes, 1},
		{"many small events in one message", 1000, 100, MaxMessageBytes, 1},
		{"events spill into several messages", 5000, 200, MaxMessageBytes, 0},
		{"large events", 40, 100_000, MaxMessageBytes, 20},
		{"tiny limit", 10, 50, 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := makeEvents(tc.n, tc.size)
			msgs, err := Pack("proj_1", "str_1", evs, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantMsgs > 0 && len(msgs) != tc.wantMsgs {
				t.Errorf("got %d messages, want %d", len(msgs), tc.wantMsgs)
			}
			var got []json.RawMessage
			for i, m := range msgs {
				if m.Size() > tc.max {
					t.Errorf("message %d is %d bytes with attributes, over %d", i, m.Size(), tc.max)
				}
				env, err := Decode(m.Body)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if env.ProjectID != "proj_1" || env.StreamID != "str_1" || len(env.Events) != m.Events {
					t.Errorf("message %d envelope = %+v (count %d)", i, env, m.Events)
				}
				got = append(got, env.Events...)
			}
			if len(got) != len(evs) {
				t.Fatalf("unpacked %d events, packed %d", len(got), len(evs))
			}
			for i := range evs {
				if string(got[i]) != string(evs[i]) {
					t.Fatalf("event %d changed or reordered: %s", i, got[i])
				}
			}
		})
	}
}

func TestPackFillsMessages(t *testing.T) {
	msgs, err := Pack("p", "s", makeEvents(10_000, 500), MaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[:len(msgs)-1] {
		if m.Size() < MaxMessageBytes-600 {
			t.Errorf("message %d holds only %d bytes: packing wastes space", i, m.Size())
		}
	}
}

func TestPackRefusesOversizeEvent(t *testing.T) {
	_, err := Pack("p", "s", makeEvents(1, MaxMessageBytes), MaxMessageBytes)
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not json":        `nope`,
		"wrong version":   `{"v":2,"project_id":"p","stream_id":"s","events":[]}`,
		"missing project": `{"v":1,"stream_id":"s","events":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(body)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	msgs, _ := Pack("p", "s", makeEvents(3, 10), MaxMessageBytes)
	f.Add(msgs[0].Body)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := Decode(body)
		if err != nil {
			return
		}
		if env.ProjectID == "" || env.StreamID == "" || env.V != Version {
			t.Fatalf("accepted an invalid envelope: %+v", env)
		}
	})
}
