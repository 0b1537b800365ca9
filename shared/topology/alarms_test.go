package topology

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/destination"
)

// alarmKey is an alarm's kind and subject, without its name.
func alarmKey(a Alarm) string {
	return strings.Join([]string{string(a.Kind), a.DLQ, a.Function, a.DestinationType}, "|")
}

// The alarms follow the spec: a depth and an age alarm for every DLQ, an
// error-rate and a lag alarm for every destination type, errors and
// throttles for every function, write failures for both archivers, and the
// stack-wide three.
func TestAlarmsFollowTheSpec(t *testing.T) {
	s := New("acme")
	want := map[string]bool{}
	add := func(a Alarm) { want[alarmKey(a)] = true }
	for _, q := range s.Queues {
		add(Alarm{Kind: AlarmDLQDepth, DLQ: q.DLQName})
		add(Alarm{Kind: AlarmDLQAge, DLQ: q.DLQName})
	}
	for _, d := range destination.Types() {
		add(Alarm{Kind: AlarmDeliveryErrorRate, Function: DeliverFunctionID(d), DestinationType: d})
		add(Alarm{Kind: AlarmDeliveryLag, Function: DeliverFunctionID(d), DestinationType: d})
	}
	for _, f := range s.Functions {
		add(Alarm{Kind: AlarmFunctionErrors, Function: f.ID})
		add(Alarm{Kind: AlarmFunctionThrottles, Function: f.ID})
	}
	for _, id := range []string{FunctionArchiver, FunctionLokiArchiver} {
		add(Alarm{Kind: AlarmArchiveWriteFailures, Function: id})
	}
	add(Alarm{Kind: AlarmIngestServerErrors, Function: FunctionIngest})
	add(Alarm{Kind: AlarmHTTPServerErrors})
	add(Alarm{Kind: AlarmAccountConcurrency})

	alarms := s.Alarms()
	got := map[string]bool{}
	names := map[string]bool{}
	for _, a := range alarms {
		if got[alarmKey(a)] {
			t.Errorf("alarm %s declared twice", alarmKey(a))
		}
		got[alarmKey(a)] = true
		if names[a.Name] {
			t.Errorf("alarm name %q used twice", a.Name)
		}
		names[a.Name] = true
		// CloudWatch alarm names: at most 255 characters, unique in the
		// account and region, so led by the prefix.
		if !strings.HasPrefix(a.Name, "acme-") || len(a.Name) > 255 {
			t.Errorf("alarm name %q: want acme-…, at most 255 characters", a.Name)
		}
		if a.FunctionName != "" {
			if f, ok := s.Function(a.Function); !ok || f.Name != a.FunctionName {
				t.Errorf("alarm %s: function name %q, spec has %+v", a.Name, a.FunctionName, f)
			}
		}
		if a.DLQ != "" {
			if q, ok := s.Queue(a.Queue); !ok || q.DLQName != a.DLQ {
				t.Errorf("alarm %s: DLQ %q of queue %q, spec has %+v", a.Name, a.DLQ, a.Queue, q)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alarms\n got %v\nwant %v", sortedKeys(got), sortedKeys(want))
	}
}

// The dead-letter function drains the delivery DLQs into the store; nothing
// drains the archive's or the bridge's, so their alarms treat one message
// as one to act on.
func TestAlarmsKnowWhichDLQsAreDrained(t *testing.T) {
	s := New("acme")
	for _, a := range s.Alarms() {
		if a.DLQ == "" {
			continue
		}
		_, delivery := destination.KindOf(a.Queue)
		if a.Drained != delivery {
			t.Errorf("alarm %s: drained %v, want %v (delivery queue: %v)", a.Name, a.Drained, delivery, delivery)
		}
	}
	// Drained is read from the dead-letter function's environment, not
	// from the queue's kind: a DLQ it stops reading is no longer drained.
	dl := -1
	for i, f := range s.Functions {
		if f.ID == FunctionDeadLetters {
			dl = i
		}
	}
	d := destination.Types()[0]
	var kept []Env
	for _, e := range s.Functions[dl].Env {
		if !(e.Ref == RefDLQURL && e.Queue == d) {
			kept = append(kept, e)
		}
	}
	s.Functions[dl].Env = kept
	for _, a := range s.Alarms() {
		if a.Queue == d && a.Drained {
			t.Errorf("alarm %s: drained, but the dead-letter function no longer reads that DLQ", a.Name)
		}
	}
}

// A destination type added to the spec gets its alarms with no other
// change: its DLQ's, its delivery's and its function's.
func TestAlarmsOfANewDestinationType(t *testing.T) {
	s := New("acme")
	q := deliveryQueue("acme", "pager")
	s.Queues = append(s.Queues, q)
	s.Functions = append(s.Functions, deliverFunction("acme", destination.Kind{Type: "pager"}, q, sharedEnv()))
	var got []string
	for _, a := range s.Alarms() {
		if a.Queue == "pager" || a.DestinationType == "pager" || a.Function == DeliverFunctionID("pager") {
			got = append(got, a.Name)
		}
	}
	sort.Strings(got)
	want := []string{"acme-deliver-pager-dlq-age", "acme-deliver-pager-dlq-depth", "acme-deliver-pager-error-rate",
		"acme-deliver-pager-errors", "acme-deliver-pager-lag-p99", "acme-deliver-pager-throttles"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alarms of the new type %v, want %v", got, want)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
