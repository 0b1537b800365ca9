package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/stream"
	"github.com/logstream/logstream/shared/topology"
)

// piiRules mask the identities and addresses of the events/auth samples,
// a lifecycle event's stream name (target.name) and the test event's
// message.
var piiRules = []stream.PIIField{
	{Field: "actor.alternateId", Action: stream.PIIHash},
	{Field: "actor.displayName", Action: stream.PIIRedact},
	{Field: "target.alternateId", Action: stream.PIIHash},
	{Field: "target.displayName", Action: stream.PIIRedact},
	{Field: "target.name", Action: stream.PIIRedact},
	{Field: "client.ipAddress", Action: stream.PIITruncateIP},
	{Field: "request.ipChain.ip", Action: stream.PIITruncateIP},
	{Field: "user_name", Action: stream.PIIHash},
	{Field: "user_id", Action: stream.PIIHash},
	{Field: "details.request.auth.user.email", Action: stream.PIIRedact},
	{Field: "ip", Action: stream.PIITruncateIP},
	{Field: "ip_address", Action: stream.PIITruncateIP},
	{Field: "member_email", Action: stream.PIIHash},
	{Field: "user_agent", Action: stream.PIIRedact},
	{Field: "message", Action: stream.PIIRedact},
}

// captureOutput tees the process's stdout and stderr, and the log
// package's output, into a buffer until the test ends: the in-process
// functions log there (lambdacontext's handler writes to os.Stdout, taken
// when each function starts), so it holds every line they write.
func captureOutput(t *testing.T) func() []byte {
	var mu sync.Mutex
	var buf bytes.Buffer
	var wg sync.WaitGroup
	tee := func(orig **os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		saved := *orig
		*orig = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 32<<10)
			for {
				n, err := r.Read(b)
				mu.Lock()
				buf.Write(b[:n])
				mu.Unlock()
				if testing.Verbose() {
					saved.Write(b[:n])
				}
				if err != nil {
					return
				}
			}
		}()
		t.Cleanup(func() {
			*orig = saved
			w.Close()
			// A process the stack started may still hold the pipe: read
			// what is there, not to its end.
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(2 * time.Second):
			}
		})
	}
	tee(&os.Stdout)
	tee(&os.Stderr)
	log.SetOutput(os.Stderr)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	return func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return bytes.Clone(buf.Bytes())
	}
}

// bodyRecorder keeps every request body it is sent, and answers status.
type bodyRecorder struct {
	mu     sync.Mutex
	bodies bytes.Buffer
	lines  []map[string]any
	srv    *httptest.Server
}

func newBodyRecorder(t *testing.T, status int) *bodyRecorder {
	r := &bodyRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies.Write(b)
		r.bodies.WriteByte('\n')
		for _, l := range bytes.Split(b, []byte("\n")) {
			var ev map[string]any
			if json.Unmarshal(l, &ev) == nil {
				r.lines = append(r.lines, ev)
			}
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *bodyRecorder) snapshot() ([]byte, []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.bodies.Bytes()), append([]map[string]any(nil), r.lines...)
}

// TestPIIEndToEnd is issue 13's masking test: two http streams with the same
// PII rules, one delivering (204) and one whose receiver refuses (401, so
// its events are parked as dead letters), get the Stytch, Auth0 and Okta
// samples twice, a lifecycle event and a test event. Then a grep over
// everything written — both receivers' request bodies, the dead letters as
// the API shows them, the test route's answer and every line the functions
// logged — finds no plaintext of a masked field, while the hash of a
// masked value is the one the stream's key gives, the same in both ingests.
func TestPIIEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG") // every line a function can log
	output := captureOutput(t)
	localKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))
	st := startStack(t, ctx, fastSpec(t), map[string]string{topology.EnvLocalPIIKey: localKey})
	base := st.URL()
	good := newBodyRecorder(t, http.StatusNoContent)
	refusing := newBodyRecorder(t, http.StatusUnauthorized)

	rules, _ := json.Marshal(stream.PII{Fields: piiRules})
	const secretName = "stream-name-confidential-4e1d"
	create := func(name, endpoint string) string {
		body := fmt.Sprintf(`{"name":%q,"destination_type":"http","destination_config":{"endpoint":%q},"pii":%s}`, name, endpoint, rules)
		code, out := do(t, "POST", base+"/v1/projects/"+project+"/streams", "application/json", "", []byte(body))
		var s struct{ ID string }
		if json.Unmarshal(out, &s); code != http.StatusCreated {
			t.Fatalf("create stream %s: %d %s", name, code, out)
		}
		return s.ID
	}
	goodID := create(secretName, good.srv.URL+"/hook")
	refusingID := create("refusing", refusing.srv.URL+"/hook")

	// The samples, each ingested twice, each event marked with its round.
	var batches [][]byte
	var plain []map[string]any
	for round := 1; round <= 2; round++ {
		for _, file := range []string{"stytch.json", "auth0.json", "okta.json"} {
			data, err := samples.FS.ReadFile("auth/" + file)
			if err != nil {
				t.Fatal(err)
			}
			var evs []map[string]any
			if err := json.Unmarshal(samples.Fresh(data, time.Now()), &evs); err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				ev["e2e_round"] = round
			}
			if round == 1 {
				plain = append(plain, evs...)
			}
			b, _ := json.Marshal(evs)
			batches = append(batches, b)
		}
	}
	perRound := len(plain)

	// The plaintexts: every string a rule masks in the samples, and the
	// two this test adds, less any that also sits in a field no rule
	// names (it would be found there, rightly).
	unmasked := maskedLocally(t, plain)
	plaintexts := []string{secretName, "if you can read this"}
	seen := map[string]bool{}
	for _, ev := range plain {
		for _, f := range piiRules {
			for _, s := range stringsAtPath(ev, strings.Split(f.Field, ".")) {
				if len(s) >= 6 && !seen[s] && !bytes.Contains(unmasked, []byte(s)) {
					seen[s] = true
					plaintexts = append(plaintexts, s)
				}
			}
		}
	}
	if len(plaintexts) < 15 {
		t.Fatalf("only %d plaintexts to look for: the samples changed under the rules", len(plaintexts))
	}

	for i, b := range batches {
		if code, out := do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", b); code != http.StatusAccepted {
			t.Fatalf("batch %d: %d %s", i, code, out)
		}
	}
	// A lifecycle event carrying the stream's name, and a test event.
	code, out := do(t, "PATCH", base+"/v1/projects/"+project+"/streams/"+goodID, "application/json", "", []byte(`{"name":"`+secretName+`-renamed"}`))
	if code != http.StatusOK {
		t.Fatalf("rename: %d %s", code, out)
	}
	code, testAnswer := do(t, "POST", base+"/v1/projects/"+project+"/streams/"+goodID+"/test", "", "", nil)
	if code != http.StatusOK {
		t.Fatalf("test route: %d %s", code, testAnswer)
	}

	// Wait for both rounds at the good receiver, lifecycle and test events
	// included, and for the refused events in the dead-letter store.
	var delivered []map[string]any
	var parked bytes.Buffer
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, delivered = good.snapshot()
		rounds, types := map[float64]int{}, map[string]bool{}
		for _, ev := range delivered {
			if r, ok := ev["e2e_round"].(float64); ok {
				rounds[r]++
			}
			if typ, ok := ev["type"].(string); ok {
				types[typ] = true
			}
		}
		parked.Reset()
		n := peekAll(t, base, refusingID, &parked)
		if rounds[1] >= perRound && rounds[2] >= perRound && types["logstream.test"] && types["logstream.stream.updated"] && n >= 2*perRound {
			break
		}
		if time.Now().After(deadline) {
			_ = os.WriteFile(os.TempDir()+"/pii-e2e-output.log", output(), 0o600)
			t.Fatalf("timed out: rounds %v, types %v, %d dead letters of %d", rounds, types, n, 2*perRound)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The hash is the stream's keyed one, and the same in both rounds.
	lk, err := pii.NewLocalKeys(localKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := lk.StreamKey(ctx, project, goodID)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("alice.nguyen@example.com"))
	wantHash := hex.EncodeToString(mac.Sum(nil))
	byRound := map[float64]map[string]bool{1: {}, 2: {}}
	for _, ev := range delivered {
		r, _ := ev["e2e_round"].(float64)
		if u, ok := ev["user_name"].(string); ok && byRound[r] != nil {
			byRound[r][u] = true
		}
	}
	if !byRound[1][wantHash] || !byRound[2][wantHash] || len(byRound[1]) != len(byRound[2]) {
		t.Errorf("user_name hashes: round 1 %v, round 2 %v; want both to hold %s", byRound[1], byRound[2], wantHash)
	}

	goodBodies, _ := good.snapshot()
	refusedBodies, _ := refusing.snapshot()
	if !bytes.Contains(goodBodies, []byte("[REDACTED]")) || !bytes.Contains(parked.Bytes(), []byte("198.51.100.0")) {
		t.Error("the masks are not to be seen where the events went")
	}
	logs := output()
	if t.Failed() || testing.Verbose() {
		_ = os.WriteFile(os.TempDir()+"/pii-e2e-output.log", logs, 0o600)
	}
	if !bytes.Contains(logs, []byte(goodID)) {
		t.Error("no log line names the stream: the functions' logs were not captured")
	}
	for where, b := range map[string][]byte{
		"the receiver": goodBodies, "the refusing receiver": refusedBodies, "the dead letters": parked.Bytes(),
		"the test route's answer": testAnswer, "the logs": logs,
	} {
		for _, p := range plaintexts {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("plaintext %q reached %s", p, where)
			}
		}
	}
	t.Logf("grep over %d bytes delivered, %d parked, %d logged for %d plaintexts", len(goodBodies)+len(refusedBodies), parked.Len(), len(logs), len(plaintexts))
}

// peekAll reads every dead letter of the stream through the API into w and
// counts them.
func peekAll(t *testing.T, base, streamID string, w *bytes.Buffer) int {
	n, cursor := 0, ""
	for {
		u := base + "/v1/projects/" + project + "/dead-letters/events?stream_id=" + streamID
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		code, out := do(t, "GET", u, "", "", nil)
		if code != http.StatusOK {
			t.Fatalf("peek dead letters: %d %s", code, out)
		}
		w.Write(out)
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			t.Fatal(err)
		}
		n += len(page.Data)
		if page.NextCursor == "" || len(page.Data) == 0 {
			return n
		}
		cursor = page.NextCursor
	}
}

// maskedLocally is the samples as the rules leave them, with every
// masked value redacted: what is left is what no rule names.
func maskedLocally(t *testing.T, evs []map[string]any) []byte {
	p := &stream.PII{}
	for _, f := range piiRules {
		p.Fields = append(p.Fields, stream.PIIField{Field: f.Field, Action: stream.PIIRedact})
	}
	m, err := pii.Compile(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		mb, err := m.Mask(b)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(mb)
	}
	return out.Bytes()
}

// stringsAtPath collects the strings at path in v, through arrays.
func stringsAtPath(v any, path []string) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsAtPath(e, path)...)
		}
		return out
	case map[string]any:
		if len(path) == 0 {
			return nil
		}
		return stringsAtPath(x[path[0]], path[1:])
	case string:
		if len(path) == 0 {
			return []string{x}
		}
	}
	return nil
}
