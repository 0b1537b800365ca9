package eventbridge

// There is no EventBridge stand-in on these machines (LocalStack cannot be
// installed here, and the Go emulators speak other services), so receiver is
// one: an httptest server that speaks PutEvents' real wire protocol, checks a
// request the way EventBridge does, and answers the way it does. Its checks
// follow the API reference (PutEvents, PutEventsRequestEntry,
// PutEventsResultEntry, Common Errors) and "Calculating PutEvents event entry
// size"; where the reference names an error code but not its text, the
// message is ours.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The credentials the tests sign with; no error text may show them.
const (
	testAccessKey    = "AKIALOGSTREAMTEST0001"
	testSecretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLOGSTREAMKEY"
	testSessionToken = "IQoJb3JpZ2luX2VjEXAMPLE/session+token/logstream=="
)

// testCredentials is a static provider, as a Lambda role's would be.
var testCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey, SessionToken: testSessionToken, Source: "test"}, nil
})

// putEntry is a PutEventsRequestEntry as it travels.
type putEntry struct {
	Detail       *string
	DetailType   *string
	EventBusName *string
	Resources    []string
	Source       *string
	Time         *json.Number // awsJson1_1 timestamps are epoch seconds
	TraceHeader  *string
}

// putRequest is one PutEvents call the receiver accepted for processing.
type putRequest struct {
	Region  string // from the SigV4 credential scope
	Body    []byte
	Entries []putEntry
}

// receiver is the PutEvents stand-in.
type receiver struct {
	t     *testing.T
	srv   *httptest.Server
	buses map[string]bool // the event bus ARNs that exist
	// answer, when set, answers the call instead of EventBridge's logic
	// (after the protocol and signature checks): for faults.
	answer func(w http.ResponseWriter)
	// echo, when set, answers like answer but sees the request: a
	// destination that echoes what it received.
	echo func(w http.ResponseWriter, r *http.Request)
	// failEntry, when set, makes EventBridge fail an otherwise valid entry
	// with the code and message it returns.
	failEntry func(e putEntry) (code, msg string)

	mu   sync.Mutex
	reqs []putRequest
}

func newReceiver(t *testing.T, buses ...string) *receiver {
	t.Helper()
	rc := &receiver{t: t, buses: map[string]bool{}}
	for _, b := range buses {
		rc.buses[b] = true
	}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []putRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]putRequest(nil), rc.reqs...)
}

// awsError answers an awsJson1_1 error: the code in __type, the text in
// message, as EventBridge does.
func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "c0ffee00-0000-4000-8000-000000000001")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Write(b)
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	t := rc.t
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		t.Errorf("read body: %v", err)
		return
	}
	// awsJson1_1: POST / with the operation in X-Amz-Target.
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.URL.RawQuery != "" {
		t.Errorf("request %s %s, want POST /", r.Method, r.URL)
		awsError(w, http.StatusNotFound, "UnknownOperationException", "")
		return
	}
	if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
		t.Errorf("X-Amz-Target %q", got)
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", got)
		awsError(w, http.StatusBadRequest, "SerializationException", "")
		return
	}
	// PutEvents has no request compression: the body is plain JSON.
	if ce := r.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("Content-Encoding %q on PutEvents", ce)
	}
	region, err := verifySigV4(r, body)
	if err != nil {
		t.Errorf("signature: %v", err)
		awsError(w, http.StatusBadRequest, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
		return
	}
	if rc.answer != nil {
		rc.record(putRequest{Region: region, Body: body})
		rc.answer(w)
		return
	}
	if rc.echo != nil {
		rc.record(putRequest{Region: region, Body: body})
		rc.echo(w, r)
		return
	}

	var in struct {
		EndpointId *string
		Entries    []putEntry
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Errorf("body is not a PutEvents request: %v\n%s", err, body)
		awsError(w, http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected.")
		return
	}
	rc.record(putRequest{Region: region, Body: body, Entries: in.Entries})

	// PutEvents Entries: 1 to 10 items.
	if n := len(in.Entries); n < 1 || n > 10 {
		t.Errorf("%d entries in one call", n)
		awsError(w, http.StatusBadRequest, "ValidationException",
			fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 (got %d)", n))
		return
	}
	// "the total entry size must be less than 256KB", counted per the guide.
	size := 0
	for _, e := range in.Entries {
		size += wireEntrySize(e)
	}
	if size >= 256<<10 {
		t.Errorf("request of %d bytes (entry size)", size)
		awsError(w, http.StatusBadRequest, "ValidationException", "Total size of the entries in the request is over the limit.")
		return
	}
	for _, e := range in.Entries {
		if bus := aws.ToString(e.EventBusName); !rc.buses[bus] {
			name := bus[strings.LastIndex(bus, "/")+1:]
			awsError(w, http.StatusBadRequest, "ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", name))
			return
		}
	}

	type result struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		Entries          []result
		FailedEntryCount int
	}{}
	for i, e := range in.Entries {
		code, msg := checkEntry(e)
		if code == "" && rc.failEntry != nil {
			code, msg = rc.failEntry(e)
		}
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, result{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		out.Entries = append(out.Entries, result{EventId: fmt.Sprintf("6a7e8feb-b491-4cf7-a9f1-%012d", len(rc.requests())*100+i)})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "c0ffee00-0000-4000-8000-000000000002")
	json.NewEncoder(w).Encode(out)
}

func (rc *receiver) record(r putRequest) {
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r)
	rc.mu.Unlock()
}

// checkEntry validates one entry as EventBridge does, failing the entry
// rather than the call ("If you include event entries in a request that do
// not include each of those properties, EventBridge fails that entry").
func checkEntry(e putEntry) (code, msg string) {
	switch {
	case e.Source == nil || e.DetailType == nil || e.Detail == nil:
		return "InvalidArgument", "Parameters Source, DetailType and Detail are required."
	case len(*e.Source) < 1 || len(*e.Source) > 256:
		return "InvalidArgument", "Parameter Source is not valid."
	case strings.HasPrefix(*e.Source, "aws."):
		// "All events that come from AWS services begin with aws."
		return "NotAuthorizedForSourceException", "Not authorized for the source."
	case *e.DetailType == "" || utf8.RuneCountInString(*e.DetailType) > 128:
		return "InvalidArgument", "Parameter DetailType is not valid."
	}
	// Detail: "A valid JSON object."
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*e.Detail), &obj); err != nil {
		return "MalformedDetail", "Detail is malformed."
	}
	if e.Time != nil {
		if _, err := e.Time.Float64(); err != nil {
			return "InvalidArgument", "Parameter Time is not valid."
		}
	}
	return "", ""
}

// wireEntrySize is the guide's formula over an entry as it travels,
// written apart from EntrySize so that each checks the other.
func wireEntrySize(e putEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, s := range []*string{e.Source, e.DetailType, e.Detail} {
		if s != nil {
			n += len([]byte(*s))
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// verifySigV4 checks the Authorization header as AWS does: the credential
// scope <date>/<region>/events/aws4_request for the test key, and the
// signature recomputed over the signed headers and the body. It returns the
// scope's region.
func verifySigV4(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", fmt.Errorf("authorization %q is not SigV4", auth)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	amzDate := r.Header.Get("X-Amz-Date")
	if len(scope) != 5 || scope[0] != testAccessKey || len(amzDate) < 8 || scope[1] != amzDate[:8] ||
		scope[3] != "events" || scope[4] != "aws4_request" {
		return "", fmt.Errorf("credential scope %q (X-Amz-Date %q), want %s/<date>/<region>/events/aws4_request", parts["Credential"], amzDate, testAccessKey)
	}
	if got := r.Header.Get("X-Amz-Security-Token"); got != testSessionToken {
		return "", fmt.Errorf("X-Amz-Security-Token %q", got)
	}
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return "", fmt.Errorf("X-Amz-Date: %v", err)
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds, _ := testCredentials.Retrieve(context.Background())
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "events", scope[2], signedAt); err != nil {
		return "", err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return "", fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, want)
	}
	return scope[2], nil
}
