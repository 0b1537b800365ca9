package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/jsonobj"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

const (
	// MaxRequestBytes bounds one PutEvents call, counted with EntrySize:
	// "the total entry size must be less than 256KB" (PutEvents; Calculating
	// PutEvents event entry size). The current API reference says 1MB; 256 KB
	// is what every region and the SDK's own docs have promised longer.
	MaxRequestBytes = 256<<10 - 1

	// "If specified, the Time parameter is 14 bytes." (Calculating PutEvents
	// event entry size)
	timeBytes = 14
	// Source: "Maximum length of 256", and the pattern destination checks is
	// ASCII, so 256 bytes.
	maxSourceBytes = 256
	// DetailType: "a maximum of 128 characters", each at most 4 bytes of UTF-8.
	maxDetailType      = 128
	maxDetailTypeBytes = maxDetailType * utf8.UTFMax
	// maxEntryOverhead is what an entry adds to its event (the Detail).
	maxEntryOverhead = timeBytes + maxSourceBytes + maxDetailTypeBytes
)

// Limits of one PutEvents call. The core sums the events' sizes, which are
// the entries' Detail sizes; the headroom is for each entry's Time, Source
// and DetailType, at their largest.
var Limits = deliver.Limits{
	// PutEvents Entries: "Array Members: Minimum number of 1 item. Maximum
	// number of 10 items."
	MaxEvents:     10,
	MaxBytes:      MaxRequestBytes - 10*maxEntryOverhead,
	MaxEventBytes: MaxRequestBytes - maxEntryOverhead,
}

// DefaultDetailType is the DetailType of an event that names no type of its
// own when the stream sets none: low-cardinality, and namespaced like the
// default Source "logstream".
const DefaultDetailType = "logstream.event"

// detailTypeFields are the members an event may name its own type with, in
// order of preference: Okta System Log "eventType" (user.session.start), the
// generic and Auth0 log "type" (s, fp), "event_type", and Stytch's "action"
// (PasswordsAuthenticate). Each vendor draws them from a fixed catalogue, so
// the DetailType stays low-cardinality and rules can match on it.
var detailTypeFields = [...]string{"eventType", "type", "event_type", "action"}

// EntrySize is the size EventBridge counts for an entry ("Calculating
// PutEvents event entry size"): 14 bytes for a Time, the UTF-8 bytes of
// Source, DetailType and Detail, and of each of the Resources.
func EntrySize(e types.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += timeBytes
	}
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// Sender puts batches on the stream's event bus with one EventBridge client
// per region, built from the AWS config it was made with. It is safe for
// concurrent use.
type Sender struct {
	// Now is the clock for Retry-After dates (optional).
	Now func() time.Time

	cfg     aws.Config
	mu      sync.Mutex
	clients map[string]*eventbridge.Client
	configs map[string]*destination.EventBridgeConfig // see Sender.config
}

// maxConfigs bounds Sender.configs: a deliverer serves few streams at a
// time, and a config that changed leaves its old entry behind.
const maxConfigs = 64

var _ deliver.Sender = (*Sender)(nil)

// New returns a Sender whose clients use cfg (credentials, retryer, HTTP
// client, endpoint resolution: AWS_ENDPOINT_URL_EVENTBRIDGE or BaseEndpoint
// reach a stand-in), each with the region of the bus it serves.
func New(cfg aws.Config) *Sender {
	return &Sender{cfg: cfg, clients: map[string]*eventbridge.Client{}}
}

// client returns the region's client, made once: a client holds its own
// connection pool and endpoint cache, and there are few regions.
func (s *Sender) client(region string) *eventbridge.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[region]
	if c == nil {
		c = eventbridge.NewFromConfig(s.cfg, func(o *eventbridge.Options) {
			o.Region = region
			o.Protocol = putEventsProtocol{o.Protocol}
		})
		if s.clients == nil {
			s.clients = map[string]*eventbridge.Client{}
		}
		s.clients[region] = c
	}
	return c
}

// Send puts the events on the bus in one PutEvents call. It returns nil only
// when every entry came back with an EventId; a *deliver.PartialError naming
// the events EventBridge (or the check before sending) refused; or the
// classified error of a call that failed as a whole.
func (s *Sender) Send(ctx context.Context, st stream.Stream, b deliver.Batch) error {
	cfg, err := s.config(st)
	if err != nil {
		return deliver.Classify(deliver.Permanent, err)
	}
	if len(b.Events) == 0 {
		return nil // PutEvents takes at least one entry; there is nothing to deliver
	}
	if len(b.Events) > Limits.MaxEvents {
		return deliver.Classify(deliver.TooLarge, fmt.Errorf("EventBridge PutEvents takes at most %d entries, not %d", Limits.MaxEvents, len(b.Events)))
	}
	req := encode(cfg, b.Events)
	if req.size > MaxRequestBytes {
		return deliver.Classify(deliver.TooLarge, fmt.Errorf("EventBridge PutEvents request of %d entries is %d bytes; the limit is 256 KB", len(req.entries), req.size))
	}
	if len(req.entries) == 0 {
		return &deliver.PartialError{Failed: req.failed}
	}

	client := s.client(cfg.Region)
	out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: req.entries})
	// EventBridge's messages are redacted of the credentials the call was
	// signed with, read (from their cache) only when there is a message.
	secrets := sync.OnceValues(func() (sink.Secrets, error) {
		return sink.CredentialSecrets(ctx, client.Options().Credentials)
	})
	if err != nil {
		err = s.callError(cfg.EventBusARN, err, secrets)
		if len(req.failed) == 0 {
			return err
		}
		for _, i := range req.index {
			req.failed[i] = err
		}
		return &deliver.PartialError{Failed: req.failed}
	}
	// "Each entry in the response array corresponds to an entry in the
	// request array in order" and "Successful result entries include an
	// Id value" (Handling failures with PutEvents): anything else, including
	// a missing result, is not delivered.
	for j, i := range req.index {
		if j < len(out.Entries) && out.Entries[j].ErrorCode == nil && aws.ToString(out.Entries[j].EventId) != "" {
			continue
		}
		e := &EntryError{Index: i, EventID: eventID(b.Events[i])}
		if j < len(out.Entries) {
			e.Code, e.Message = aws.ToString(out.Entries[j].ErrorCode), clean(aws.ToString(out.Entries[j].ErrorMessage), secrets)
		}
		if req.failed == nil {
			req.failed = map[int]error{}
		}
		req.failed[i] = deliver.Classify(classOfEntry(e.Code), e)
	}
	if len(req.failed) > 0 {
		return &deliver.PartialError{Failed: req.failed}
	}
	return nil
}

// config is the stream's EventBridge config, normalised (default Source,
// region from the ARN) as the API stored it. Decoding and validating it
// (three regular expressions) cost more than encoding the batch's entries,
// for the same answer every time: a config is kept by its type and bytes,
// which are all the answer depends on, and shared read-only by the Sends
// that use it. Only a config that passed is kept, so an error names the
// stream it came from.
func (s *Sender) config(st stream.Stream) (*destination.EventBridgeConfig, error) {
	key := st.DestinationType + "\x00" + string(st.DestinationConfig)
	s.mu.Lock()
	cfg := s.configs[key]
	s.mu.Unlock()
	if cfg != nil {
		return cfg, nil
	}
	cfg, err := config(st)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.configs == nil || len(s.configs) >= maxConfigs {
		s.configs = map[string]*destination.EventBridgeConfig{}
	}
	s.configs[key] = cfg
	return cfg, nil
}

// config decodes and validates the stream's EventBridge config.
func config(st stream.Stream) (*destination.EventBridgeConfig, error) {
	c, err := st.Destination()
	if err != nil {
		return nil, err
	}
	cfg, ok := c.(*destination.EventBridgeConfig)
	if !ok {
		return nil, fmt.Errorf("stream %s is a %s stream, not eventbridge", st.ID, st.DestinationType)
	}
	if err := destination.Validate(cfg, netguard.Policy{}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", st.ID, err)
	}
	return cfg, nil
}

// request is one PutEvents call's entries.
type request struct {
	entries []types.PutEventsRequestEntry
	index   []int         // the batch index of each entry's event
	failed  map[int]error // events refused before sending, by batch index
	size    int           // sum of EntrySize
}

// encode makes an entry of each event that is a JSON object; the others are
// refused as EventBridge would ("Detail: A valid JSON object").
func encode(cfg *destination.EventBridgeConfig, evs []json.RawMessage) request {
	n := len(evs)
	req := request{entries: make([]types.PutEventsRequestEntry, 0, n), index: make([]int, 0, n)}
	details := make([]string, n)
	times := make([]time.Time, n)
	var detailTypes []string
	if cfg.DetailType == "" {
		detailTypes = make([]string, n)
	}
	for i, ev := range evs {
		var f eventFields
		if !jsonobj.ValidMembers(ev, f.note) {
			if req.failed == nil {
				req.failed = map[int]error{}
			}
			req.failed[i] = deliver.Classify(deliver.Rejected, &EntryError{Index: i, Code: "MalformedDetail",
				Message: "the event is not a JSON object (checked before sending)"})
			continue
		}
		// The Detail is the event itself, not a copy: the SDK only reads it
		// while it serialises the call, within Send, and the batch's events
		// are not changed while Send runs.
		details[i] = view(ev)
		e := types.PutEventsRequestEntry{
			EventBusName: &cfg.EventBusARN,
			Source:       &cfg.Source,
			DetailType:   &cfg.DetailType,
			Detail:       &details[i],
		}
		if detailTypes != nil {
			detailTypes[i] = f.detailType()
			e.DetailType = &detailTypes[i]
		}
		// Without a Time "the time stamp of the PutEvents call is used".
		if ts, ok := f.str(f.timestamp); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				times[i] = t
				e.Time = &times[i]
			}
		}
		req.entries = append(req.entries, e)
		req.index = append(req.index, i)
		req.size += EntrySize(e)
	}
	return req
}

// eventFields are the raw values of the top-level members Send reads.
type eventFields struct {
	timestamp []byte
	types     [len(detailTypeFields)][]byte
}

// note keeps one member of the event if Send reads it, by its name as
// written; the last of repeated names wins, as in encoding/json. Encode
// hands it each member while it checks the event (jsonobj.ValidMembers),
// so an event is read once.
func (f *eventFields) note(key, val []byte) {
	if string(key) == "timestamp" {
		f.timestamp = val
		return
	}
	for k, name := range detailTypeFields {
		if string(key) == name {
			f.types[k] = val
		}
	}
}

// detailType is the first of the event's own type members that makes a
// DetailType ("Free-form string, with a maximum of 128 characters"; one that
// is longer, or holds control characters, is not an event type), else
// DefaultDetailType.
func (f *eventFields) detailType() string {
	for _, raw := range f.types {
		s, ok := f.str(raw)
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		if s == "" || utf8.RuneCountInString(s) > maxDetailType || strings.IndexFunc(s, unicode.IsControl) >= 0 {
			continue
		}
		return s
	}
	return DefaultDetailType
}

// str decodes a raw JSON string value: a view of the event's bytes when it
// holds no escape (type names and timestamps never do), which, like the
// Detail, lives no longer than Send.
func (*eventFields) str(raw []byte) (string, bool) {
	s, ok := jsonobj.Text(raw)
	return view(s), ok
}

// view is b as a string without copying it.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// eventID is the event's "event_id", for error texts.
func eventID(ev []byte) string {
	id, _ := jsonobj.Text(jsonobj.Get(ev, "event_id"))
	return string(id)
}

// EntryError is EventBridge's refusal of one entry of a PutEvents call
// (PutEventsResultEntry ErrorCode and ErrorMessage).
type EntryError struct {
	Index   int    // in the batch given to Send
	EventID string // the event's event_id, when it has one
	Code    string // empty when EventBridge sent no result for the entry
	Message string
}

func (e *EntryError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("EventBridge returned no result for entry %d (event %s)", e.Index, e.EventID)
	}
	return fmt.Sprintf("EventBridge refused entry %d (event %s): %s: %s", e.Index, e.EventID, e.Code, e.Message)
}

// classOfEntry classifies a failed entry by its ErrorCode. PutEventsResultEntry
// lists InternalFailure and ThrottlingException as retryable and the rest as
// not; codes it does not list are retried, so a surprise never loses events.
func classOfEntry(code string) deliver.Class {
	switch code {
	case "ThrottlingException", "InternalFailure", "InternalException":
		return deliver.Retryable
	case "MalformedDetail", "InvalidArgument", "ValidationException", "RedactionFailure":
		// The event itself: the core isolates it and parks it.
		return deliver.Rejected
	case "AccessDeniedException", "NotAuthorizedForSourceException", "NotAuthorizedForDetailTypeException", "InvalidAccountIdException":
		// The bus's resource policy or the stream's source/detail type: the
		// customer must change one of them.
		return deliver.Permanent
	}
	return deliver.Retryable
}

// Error is a PutEvents call that EventBridge refused as a whole: its HTTP
// status and awsJson error ({"__type":"<code>","message":"…"}).
type Error struct {
	Bus        string
	StatusCode int
	Code       string
	Message    string
	RequestID  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("EventBridge PutEvents to %s answered %d %s: %s: %s (request id %s)",
		e.Bus, e.StatusCode, http.StatusText(e.StatusCode), e.Code, e.Message, e.RequestID)
}

// callError classifies a PutEvents call that failed as a whole.
func (s *Sender) callError(bus string, err error, secrets func() (sink.Secrets, error)) error {
	var api smithy.APIError
	if !errors.As(err, &api) || !fromEventBridge(err) {
		// No answer from EventBridge: connection refused or reset, a timeout,
		// the invocation's deadline, or logstream's own credentials that
		// could not be had. The SDK's errors carry no secret.
		return deliver.Classify(deliver.Retryable, fmt.Errorf("EventBridge PutEvents to %s: %w", bus, err))
	}
	e := &Error{Bus: bus, Code: api.ErrorCode(), Message: clean(api.ErrorMessage(), secrets)}
	var header http.Header
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.StatusCode, e.RequestID = re.HTTPStatusCode(), re.ServiceRequestID()
		if re.Response != nil {
			header = re.Response.Header
		}
	}
	class := classOfCall(e.Code, e.StatusCode)
	if class == deliver.Retryable {
		return deliver.RetryAfter(e, sink.ParseRetryAfter(header.Get("Retry-After"), s.now()))
	}
	return deliver.Classify(class, e)
}

// fromEventBridge reports whether the API error in err is EventBridge's own
// answer, not that of a call the SDK made on the way (STS for credentials).
func fromEventBridge(err error) bool {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return true
	}
	var inner *smithy.OperationError
	return !errors.As(op.Err, &inner)
}

// classOfCall classifies a whole-call error by its code (PutEvents errors
// and the Common Errors of the EventBridge API Reference), else by its
// status.
func classOfCall(code string, status int) deliver.Class {
	switch code {
	case "AccessDeniedException", "AccessDenied", "NotAuthorized",
		"NotAuthorizedForSourceException", "NotAuthorizedForDetailTypeException", "InvalidAccountIdException":
		// The bus's resource policy does not let logstream's role put events.
		return deliver.Permanent
	case "ResourceNotFoundException":
		// The bus is gone. (EventBridge has been seen to accept events for a
		// bus that does not exist; when it says so, believe it.)
		return deliver.Gone
	case "ValidationException", "ValidationError", "InvalidArgument", "MalformedDetail", "SerializationException":
		return deliver.Rejected
	case "ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable",
		// logstream's own credentials or clock, not the customer's doing:
		// they are refreshed, and redrive parks what never gets through.
		"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
		"IncompleteSignature", "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return deliver.Retryable
	}
	if status == 0 {
		return deliver.Retryable
	}
	return sink.ClassOfStatus(status)
}

// clean makes an EventBridge message an error text: its first line, without
// the canonical request that AWS signature errors go on with (it can hold
// the session token), redacted of the credentials the call was signed with
// and cut short (sink.Secrets.Text). A message whose credentials cannot be
// read is withheld rather than shown unredacted.
func clean(msg string, secrets func() (sink.Secrets, error)) string {
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "The Canonical String"); i >= 0 {
		msg = msg[:i]
	}
	s, err := secrets()
	if err != nil {
		return sink.Withheld
	}
	return s.Text(msg)
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
