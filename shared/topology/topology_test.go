package topology

import (
	"cmp"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
)

func TestNewIsValid(t *testing.T) {
	s := New("logstream")
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, d := range destination.Types() {
		if _, ok := s.Queue(d); !ok {
			t.Errorf("no queue for %s", d)
		}
		if f, ok := s.Function(DeliverFunctionID(d)); !ok || f.Source == nil || !f.Source.ReportBatchItemFailures {
			t.Errorf("no delivery function with ReportBatchItemFailures for %s", d)
		}
	}
	m := s.Manifest()
	// One mapping per delivery queue, the archiver's and the Loki archiver's.
	if len(m.Routes) != len(s.Routes) || len(m.Mappings) != len(destination.Types())+2 || m.Table != "logstream-streams" {
		t.Fatalf("manifest %+v", m)
	}
}

// Each destination type's deployment facts come from its declaration: a
// sender with an S3 client gets the path-style switch, and no other does.
func TestDeliveryFunctionsFollowTheirKind(t *testing.T) {
	s := New("logstream")
	for _, k := range destination.Kinds() {
		f, ok := s.Function(DeliverFunctionID(k.Type))
		if !ok || f.Role != RoleDeliver || f.SourceDir != "deliver/"+k.Type {
			t.Fatalf("%s: function %+v", k.Type, f)
		}
		pathStyle := false
		for _, e := range f.Env {
			pathStyle = pathStyle || e.Name == EnvS3PathStyle
		}
		if want := k.AWS == destination.AWSS3; pathStyle != want {
			t.Errorf("%s: %s set = %v, want %v", k.Type, EnvS3PathStyle, pathStyle, want)
		}
	}
}

// A delivery function knows its queue's maxReceiveCount, so it parks a
// message on its last receive before redrive moves it without a reason
// (issue 12); SetMaxReceiveCount changes both together.
func TestDeliveryFunctionsKnowTheirQueuesMaxReceiveCount(t *testing.T) {
	s := New("logstream")
	check := func(want int) {
		t.Helper()
		for _, q := range s.Queues {
			if q.Destination == ArchiveQueue || q.Destination == BridgeQueue {
				continue // the archivers park nothing themselves: SQS redrive does
			}
			f, _ := s.Function(DeliverFunctionID(q.Destination))
			got := ""
			for _, e := range f.Env {
				if e.Name == EnvMaxReceiveCount {
					got = e.Value
				}
			}
			if q.MaxReceiveCount != want || got != strconv.Itoa(want) {
				t.Errorf("%s: queue maxReceiveCount %d, function's %s=%q, want %d", q.Destination, q.MaxReceiveCount, EnvMaxReceiveCount, got, want)
			}
		}
	}
	check(DefaultMaxReceiveCount)
	s.SetMaxReceiveCount(3)
	check(3)
}

// The concurrency guards (issue 11): every delivery mapping has a maximum,
// ingestion and the API reserve theirs, nothing else reserves, and all of it
// at its ceiling leaves AWS's unreserved minimum of the default quota.
func TestConcurrencyGuards(t *testing.T) {
	s := New("logstream")
	want := map[string]int{FunctionIngest: DefaultIngestReservedConcurrency, FunctionAPI: DefaultAPIReservedConcurrency,
		FunctionDeadLetters: DefaultDeadLettersReservedConcurrency, FunctionReplay: DefaultReplayReservedConcurrency}
	maxima := map[string]int{FunctionArchiver: DefaultArchiverMaxConcurrency, FunctionLokiArchiver: DefaultLokiArchiverMaxConcurrency}
	total := 0
	for _, f := range s.Functions {
		if f.ReservedConcurrency != want[f.ID] {
			t.Errorf("%s: reserved concurrency %d, want %d", f.ID, f.ReservedConcurrency, want[f.ID])
		}
		total += f.ReservedConcurrency
		if f.Source == nil {
			continue
		}
		if w := cmp.Or(maxima[f.ID], DefaultDeliverMaxConcurrency); f.Source.MaxConcurrency != w {
			t.Errorf("%s: maximum concurrency %d, want %d", f.ID, f.Source.MaxConcurrency, w)
		}
		total += f.Source.MaxConcurrency
	}
	if total > AccountConcurrency-MinUnreservedConcurrency {
		t.Errorf("reserved plus delivery maxima = %d, leaves less than %d of %d", total, MinUnreservedConcurrency, AccountConcurrency)
	}
	for _, mp := range s.Manifest().Mappings {
		if mp.MaximumConcurrency != cmp.Or(maxima[mp.Function], DefaultDeliverMaxConcurrency) {
			t.Errorf("manifest mapping %s: maximum concurrency %d", mp.Function, mp.MaximumConcurrency)
		}
	}
}

// Every route key splits into the method and path API Gateway takes, and
// joins back to itself.
func TestRouteKeys(t *testing.T) {
	for _, r := range New("logstream").Routes {
		if r.Method == "" || !strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, " ") {
			t.Errorf("route %+v", r)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	deliver := func(s *Spec) *Function {
		for i := range s.Functions {
			if s.Functions[i].Source != nil {
				return &s.Functions[i]
			}
		}
		t.Fatal("no delivery function")
		return nil
	}
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"visibility shorter than timeout", func(s *Spec) { s.Queues[0].VisibilityTimeout = time.Second }, "visibility timeout"},
		{"visibility shorter than timeout plus window", func(s *Spec) {
			f := deliver(s)
			s.Queues[0].VisibilityTimeout = f.Timeout
		}, "batching window"},
		{"route to unknown function", func(s *Spec) { s.Routes[0].Function = "nope" }, "unknown function"},
		{"duplicate route", func(s *Spec) { s.Routes = append(s.Routes, s.Routes[0]) }, "twice"},
		{"duplicate function", func(s *Spec) { s.Functions = append(s.Functions, s.Functions[0]) }, "twice"},
		{"env refers to unknown queue", func(s *Spec) {
			s.Functions[0].Env = append(s.Functions[0].Env, Env{Name: "X", Ref: RefQueueURL, Queue: "pigeon"})
		}, "unknown queue"},
		{"env refers to unknown function", func(s *Spec) {
			s.Functions[0].Env = append(s.Functions[0].Env, Env{Name: "X", Ref: RefFunctionName, Function: "deliver-pigeon"})
		}, "unknown function \"deliver-pigeon\""},
		{"long queue name", func(s *Spec) { s.Queues[0].Name = strings.Repeat("q", 81) }, "80"},
		{"long function name", func(s *Spec) { s.Functions[0].Name = strings.Repeat("f", 65) }, "64"},
		{"bad batch size", func(s *Spec) { deliver(s).Source.BatchSize = 0 }, "batch size"},
		{"function without a role", func(s *Spec) { s.Functions[0].Role = "" }, "role"},
		{"function with an unknown role", func(s *Spec) { s.Functions[0].Role = "cron" }, "role"},
		{"delivery role without a queue", func(s *Spec) { deliver(s).Source = nil }, "event source"},
		{"queue read by a function not delivering", func(s *Spec) { deliver(s).Role = RoleAPI }, "event source"},
		{"bad maxReceiveCount", func(s *Spec) { s.Queues[0].MaxReceiveCount = 0 }, "maxReceiveCount"},
		{"mapping without maximum concurrency", func(s *Spec) { deliver(s).Source.MaxConcurrency = 0 }, "maximum concurrency 0"},
		{"maximum concurrency below AWS's 2", func(s *Spec) { deliver(s).Source.MaxConcurrency = 1 }, "2-1000"},
		{"maximum concurrency above AWS's 1000", func(s *Spec) { deliver(s).Source.MaxConcurrency = 1001 }, "2-1000"},
		{"reserved below the mapping's maximum", func(s *Spec) {
			f := deliver(s)
			f.ReservedConcurrency = f.Source.MaxConcurrency - 1
		}, "below its mapping's maximum"},
		{"negative schedule", func(s *Spec) { s.SetSchedule(FunctionDeadLetters, -time.Second) }, "schedule"},
		{"negative reservation", func(s *Spec) { s.Functions[0].ReservedConcurrency = -1 }, "negative"},
		{"reservations leave less than 100 unreserved", func(s *Spec) {
			// Within the quota alone, but the delivery maxima on top
			// leave less than AWS's unreserved minimum.
			s.Functions[0].ReservedConcurrency = AccountConcurrency - MinUnreservedConcurrency
		}, "leaves 100 unreserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New("logstream")
			tc.mutate(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// The dead-letter function runs on its schedule (and only it), reads every
// DLQ and sends to every delivery queue; the API, which starts its jobs,
// names it. The manifest carries the schedule, and SetSchedule changes it.
func TestDeadLettersFunction(t *testing.T) {
	s := New("logstream")
	f, ok := s.Function(FunctionDeadLetters)
	if !ok || f.Role != RoleDeadLetters || f.SourceDir != "deadletters" || f.Source != nil || f.Timeout != 15*time.Minute {
		t.Fatalf("deadletters function %+v", f)
	}
	refs := map[string]Env{}
	for _, e := range f.Env {
		refs[e.Name] = e
	}
	want := map[string]Env{
		EnvTable:               {Name: EnvTable, Ref: RefTableName},
		EnvDeadLetterRetention: {Name: EnvDeadLetterRetention, Value: "336h0m0s"},
		EnvDeadLetterLease:     {Name: EnvDeadLetterLease, Value: "1m0s"},
	}
	for _, d := range destination.Types() {
		want[DLQURLEnv(d)] = Env{Name: DLQURLEnv(d), Ref: RefDLQURL, Queue: d}
		want[QueueURLEnv(d)] = Env{Name: QueueURLEnv(d), Ref: RefQueueURL, Queue: d}
	}
	if len(refs) != len(f.Env) || len(refs) != len(want) {
		t.Errorf("deadletters env %+v, want %+v", f.Env, want)
	}
	for name, w := range want {
		if refs[name] != w {
			t.Errorf("deadletters %s = %+v, want %+v", name, refs[name], w)
		}
	}

	api, _ := s.Function(FunctionAPI)
	var apiEnv []Env
	for _, e := range api.Env {
		if e.Name == EnvDeadLetterRetention || e.Name == EnvDeadLettersFunction {
			apiEnv = append(apiEnv, e)
		}
	}
	wantAPI := []Env{{Name: EnvDeadLetterRetention, Value: DefaultDeadLetterRetention.String()},
		{Name: EnvDeadLettersFunction, Ref: RefFunctionName, Function: FunctionDeadLetters}}
	if len(apiEnv) != 2 || apiEnv[0] != wantAPI[0] || apiEnv[1] != wantAPI[1] {
		t.Errorf("api dead-letter env %+v, want %+v", apiEnv, wantAPI)
	}

	schedules := func() map[string]int {
		out := map[string]int{}
		for _, mf := range s.Manifest().Functions {
			if mf.ScheduleSeconds != 0 {
				out[mf.ID] = mf.ScheduleSeconds
			}
		}
		return out
	}
	if got := schedules(); len(got) != 2 || got[FunctionDeadLetters] != 60 || got[FunctionReplay] != 60 {
		t.Errorf("scheduled functions %v, want only %s and %s every 60 s", got, FunctionDeadLetters, FunctionReplay)
	}
	s.SetSchedule(FunctionDeadLetters, 2*time.Second)
	if got := schedules(); len(got) != 2 || got[FunctionDeadLetters] != 2 || got[FunctionReplay] != 60 {
		t.Errorf("after SetSchedule: scheduled functions %v, want %s every 2 s", got, FunctionDeadLetters)
	}
}

// The bridge's Go memory limit leaves room below its function's memory
// for what the limit does not count, or GOGC=off would let the heap grow
// until Lambda stops the function.
func TestBridgeMemoryLimitFitsItsFunction(t *testing.T) {
	f, _ := New("logstream").Function(FunctionLokiBridge)
	env := map[string]string{}
	for _, e := range f.Env {
		env[e.Name] = e.Value
	}
	limit, ok := strings.CutSuffix(env[EnvGOMEMLIMIT], "MiB")
	mib, err := strconv.Atoi(limit)
	if !ok || err != nil || env[EnvGOGC] != "off" || env[EnvGOMAXPROCS] != "1" {
		t.Fatalf("bridge runtime settings %v", env)
	}
	if room := f.MemoryMB - mib; room < 128 {
		t.Errorf("GOMEMLIMIT %d MiB leaves %d MB of the function's %d", mib, room, f.MemoryMB)
	}
}

// The metrics' opt-in detail is off where deployed, on exactly the
// functions whose metrics can name a project (ingestion and delivery);
// SetMetricsDetail turns it on in all of them, and only to a value the
// functions read.
func TestMetricsDetail(t *testing.T) {
	detailOf := func(s Spec) map[string]string {
		out := map[string]string{}
		for _, f := range s.Functions {
			for _, e := range f.Env {
				if e.Name == EnvMetricsDetail {
					out[f.ID] = e.Value
				}
			}
		}
		return out
	}
	s := New("logstream")
	want := map[string]string{FunctionIngest: ""}
	for _, k := range destination.Kinds() {
		want[DeliverFunctionID(k.Type)] = ""
	}
	if got := detailOf(s); !maps.Equal(got, want) {
		t.Fatalf("%s set on %v, want %v", EnvMetricsDetail, got, want)
	}
	for _, d := range []string{MetricsDetailStream, MetricsDetailProject, ""} {
		if err := s.SetMetricsDetail(d); err != nil {
			t.Fatal(err)
		}
		for id, v := range detailOf(s) {
			if v != d {
				t.Errorf("%s: %q after SetMetricsDetail(%q)", id, v, d)
			}
		}
	}
	if err := s.SetMetricsDetail("tenant"); err == nil || !strings.Contains(err.Error(), EnvMetricsDetail) {
		t.Fatalf("err %v", err)
	}
}

func TestParseCapacity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Capacity
		err  bool
	}{
		{"", DefaultCapacity, false},
		{"ingest=200", Capacity{APIRate: 100, APIBurst: 200, IngestConcurrency: 200, DeliverConcurrency: 10, DeliverBatchSize: 10, Account: 1000}, false},
		{"api_rate=2000,api_burst=4000,deliver=100,deliver_batch=50,account=5000", Capacity{APIRate: 2000, APIBurst: 4000, IngestConcurrency: 50, DeliverConcurrency: 100, DeliverBatchSize: 50, Account: 5000}, false},
		{"account=500", Capacity{}, true},
		{"ingest=1500,account=2000", Capacity{APIRate: 100, APIBurst: 200, IngestConcurrency: 1500, DeliverConcurrency: 10, DeliverBatchSize: 10, Account: 2000}, false},
		{"api_rate=300", Capacity{}, true}, // above its burst
		{"deliver=1", Capacity{}, true},    // a mapping's minimum is 2
		{"deliver_batch=0", Capacity{}, true},
		{"ingest=901", Capacity{}, true},
		{"ingest", Capacity{}, true},
		{"lambda=5", Capacity{}, true},
		{"ingest=ten", Capacity{}, true},
	} {
		got, err := ParseCapacity(DefaultCapacity, tc.in)
		if (err != nil) != tc.err || !tc.err && got != tc.want {
			t.Errorf("ParseCapacity(%q) = %+v, %v", tc.in, got, err)
		}
	}
	s := New("t")
	if err := s.SetCapacity(Capacity{APIRate: 1, APIBurst: 1, IngestConcurrency: 1, DeliverConcurrency: 1, DeliverBatchSize: 1, Account: 1000}); err == nil {
		t.Fatal("SetCapacity took a mapping concurrency of 1")
	}
	if s.Capacity != DefaultCapacity {
		t.Fatalf("a refused capacity changed the spec: %+v", s.Capacity)
	}
}

// A raised account quota lets the delivery maxima past the default's 900,
// which Validate refuses without it.
func TestCapacityAccount(t *testing.T) {
	s := New("t")
	c, _ := ParseCapacity(DefaultCapacity, "deliver=200,ingest=150")
	if err := s.SetCapacity(c); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "account quota (1000") {
		t.Fatalf("Validate: %v", err)
	}
	c.Account = 3000
	if err := s.SetCapacity(c); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
