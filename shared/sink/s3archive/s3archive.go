package s3archive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/stream"
)

// Limits of one object. PerMessage makes every batch the events of (part of)
// one SQS message, so the message id names the object; the sizes only need
// to be at least a message's.
var Limits = deliver.Limits{
	// An SQS message is at most 256 KiB (1 MiB on queues configured for
	// AWS's raised limit, Amazon SQS quotas); a single PutObject takes up to
	// 5 GB (Amazon S3 User Guide, "Uploading objects"). 4 MiB never splits
	// a message for size.
	MaxBytes: 4 << 20,
	// A message of 1 MiB holds at most ~10^4 real events (each carries an
	// event_id and a timestamp, ~80 bytes); S3 does not count lines.
	MaxEvents: 100_000,
	// No event larger than SQS's largest message can have been queued.
	MaxEventBytes: 1 << 20,
	PerMessage:    true,
}

// Object headers.
const (
	ContentType     = "application/x-ndjson"
	ContentEncoding = "gzip"
)

// maxKeyBytes is S3's limit on an object key: "The name for a key is a
// sequence of Unicode characters whose UTF-8 encoding is at most 1,024 bytes
// long" (Amazon S3 User Guide, "Naming Amazon S3 objects"). A prefix of 512
// multi-byte characters can exceed it.
const maxKeyBytes = 1024

// maxSessionName is STS AssumeRole's RoleSessionName limit (2 to 64
// characters of [\w+=,.@-], STS API Reference, AssumeRole).
const maxSessionName = 64

// maxClients bounds the client cache: one entry per stream that writes with
// a role, per region otherwise. Past it an arbitrary entry is dropped, which
// only costs a new client (and AssumeRole) on that stream's next batch.
const maxClients = 1024

// objectPutter is the part of the S3 client the sender uses.
type objectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// clientKey identifies what a client's requests carry: the bucket's region
// and, when a role is assumed, everything that goes into AssumeRole. The
// project (the ExternalId) is part of it: two projects that name the same
// role must never share credentials one of them obtained.
type clientKey struct {
	region, roleARN, externalID, sessionName string
}

// Sender writes batches as objects. Set its fields before the first Send;
// Send is safe for concurrent use.
type Sender struct {
	// UsePathStyle addresses buckets as <endpoint>/<bucket>/<key> instead of
	// <bucket>.<endpoint>/<key>; S3 stand-ins need it, AWS does not.
	UsePathStyle bool
	// RequestChecksumCalculation, when set, replaces the default: a CRC32
	// checksum on every PutObject (WhenSupported), which S3 verifies before
	// storing the object. WhenRequired is for endpoints that reject it.
	RequestChecksumCalculation aws.RequestChecksumCalculation
	// Now dates batches that carry no EnqueuedAt (default time.Now).
	Now func() time.Time

	base aws.Config
	// newClient builds the client for a key; tests replace it with a fake.
	newClient func(clientKey) objectPutter

	mu      sync.Mutex
	clients map[clientKey]objectPutter
	sts     *sts.Client
}

var _ deliver.Sender = (*Sender)(nil)

// New returns a sender whose S3 (and STS) clients derive from cfg: its
// credentials are logstream's own, its endpoints come from
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_STS as the SDK resolves them, and
// its retryer and HTTP client are used as they are.
func New(cfg aws.Config) *Sender {
	s := &Sender{base: cfg, clients: map[clientKey]objectPutter{}}
	s.newClient = s.buildClient
	return s
}

// Send writes the batch as one object; a retry of the same batch (same Key)
// overwrites it.
func (s *Sender) Send(ctx context.Context, st stream.Stream, b deliver.Batch) error {
	cfg, err := config(st)
	if err != nil {
		return err
	}
	if b.Key == "" {
		// A name that is not the same on every retry would duplicate events.
		return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s: batch has no key to name its object (the core must set Limits.PerMessage)", st.ID))
	}
	if len(b.Events) == 0 {
		return nil
	}
	at := b.EnqueuedAt
	if at.IsZero() {
		at = s.now()
	}
	key := objectKey(cfg.Prefix, st.ProjectID, st.ID, b.Key, at)
	if len(key) > maxKeyBytes {
		return deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s: object key is %d bytes, S3 allows %d; shorten the prefix", st.ID, len(key), maxKeyBytes))
	}
	body, err := encode(b.Events)
	if err != nil {
		return fmt.Errorf("stream %s: %w", st.ID, err)
	}
	client := s.client(cfg, st)
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:          aws.String(cfg.Bucket),
		Key:             aws.String(key),
		Body:            bytes.NewReader(body),
		ContentLength:   aws.Int64(int64(len(body))),
		ContentType:     aws.String(ContentType),
		ContentEncoding: aws.String(ContentEncoding),
	})
	if err != nil {
		return classify(s.redact(ctx, client, cfg, err), cfg, key)
	}
	return nil
}

// redact returns err with a text that carries none of the credentials the
// failed call was signed with, should S3 or STS have echoed them: logstream's
// own (they also sign AssumeRole) and, unless assuming the role is what
// failed, the role's session. Credentials come from their caches, so this
// is no new request; when they cannot be read, the text is withheld.
func (s *Sender) redact(ctx context.Context, c objectPutter, cfg *destination.S3Config, err error) error {
	secrets, cerr := sink.CredentialSecrets(ctx, s.base.Credentials)
	if o, ok := c.(interface{ Options() s3.Options }); ok && cerr == nil && cfg.RoleARN != "" && !fromSTS(err) {
		var role sink.Secrets
		role, cerr = sink.CredentialSecrets(ctx, o.Options().Credentials)
		secrets = secrets.Join(role)
	}
	if cerr != nil {
		return sink.Withhold(err)
	}
	return secrets.Wrap(err)
}

func config(st stream.Stream) (*destination.S3Config, error) {
	c, err := st.Destination()
	if err != nil {
		return nil, deliver.Classify(deliver.Permanent, err)
	}
	cfg, ok := c.(*destination.S3Config)
	if !ok {
		return nil, deliver.Classify(deliver.Permanent, fmt.Errorf("stream %s is a %s stream, not s3", st.ID, st.DestinationType))
	}
	return cfg, nil
}

// objectKey is [prefix/]project=…/stream=…/dt=YYYY-MM-DD/hour=HH/<batchKey>.ndjson.gz.
// A prefix with or without its trailing slashes gives the same key.
func objectKey(prefix, projectID, streamID, batchKey string, at time.Time) string {
	prefix = strings.TrimRight(prefix, "/")
	var k strings.Builder
	k.Grow(len(prefix) + len(projectID) + len(streamID) + len(batchKey) + 64)
	if prefix != "" {
		k.WriteString(prefix)
		k.WriteByte('/')
	}
	k.WriteString("project=")
	k.WriteString(projectID)
	k.WriteString("/stream=")
	k.WriteString(streamID)
	var ts [32]byte
	k.Write(at.UTC().AppendFormat(ts[:0], "/dt=2006-01-02/hour=15/"))
	k.WriteString(batchKey)
	k.WriteString(".ndjson.gz")
	return k.String()
}

var ndjsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode returns the gzip of the events as NDJSON. Events are compact JSON
// already; one that is not (a raw line break would split it into two
// invalid lines) is compacted, never cut.
func encode(evs []json.RawMessage) ([]byte, error) {
	raw := ndjsonBuffers.Get().(*bytes.Buffer)
	defer ndjsonBuffers.Put(raw)
	raw.Reset()
	n := 0
	for _, e := range evs {
		n += len(e) + 1
	}
	raw.Grow(n)
	for i, e := range evs {
		if bytes.IndexByte(e, '\n') >= 0 || bytes.IndexByte(e, '\r') >= 0 {
			if err := json.Compact(raw, e); err != nil {
				return nil, deliver.Classify(deliver.Rejected, fmt.Errorf("event %d is not JSON: %w", i, err))
			}
		} else {
			raw.Write(e)
		}
		raw.WriteByte('\n')
	}
	// The compressed body is not pooled: the HTTP transport may still read
	// a request body after the response arrived.
	var gz bytes.Buffer
	gz.Grow(raw.Len()/4 + 64)
	sink.Gzip(&gz, raw.Bytes())
	return gz.Bytes(), nil
}

// client returns the cached client for the stream's region and role.
func (s *Sender) client(cfg *destination.S3Config, st stream.Stream) objectPutter {
	k := clientKey{region: cfg.Region}
	if cfg.RoleARN != "" {
		k.roleARN, k.externalID, k.sessionName = cfg.RoleARN, st.ProjectID, sessionName(st.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[k]; ok {
		return c
	}
	if s.clients == nil {
		s.clients = map[clientKey]objectPutter{}
	}
	if len(s.clients) >= maxClients {
		for old := range s.clients {
			delete(s.clients, old)
			break
		}
	}
	c := s.newClient(k)
	s.clients[k] = c
	return c
}

// buildClient makes an S3 client; called with s.mu held.
func (s *Sender) buildClient(k clientKey) objectPutter {
	var creds aws.CredentialsProvider
	if k.roleARN != "" {
		if s.sts == nil {
			// STS in logstream's own region: always enabled for its account,
			// and its session tokens are valid in every region.
			s.sts = sts.NewFromConfig(s.base)
		}
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(s.sts, k.roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = k.sessionName
			o.ExternalID = aws.String(k.externalID)
		}))
	}
	return s3.NewFromConfig(s.base, func(o *s3.Options) {
		o.Region = k.region
		o.UsePathStyle = s.UsePathStyle
		switch {
		case s.RequestChecksumCalculation != aws.RequestChecksumCalculationUnset:
			o.RequestChecksumCalculation = s.RequestChecksumCalculation
		case o.RequestChecksumCalculation == aws.RequestChecksumCalculationUnset:
			// config.LoadDefaultConfig's default; a hand-built aws.Config
			// leaves it unset, which would send no checksum at all.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		}
		if creds != nil {
			o.Credentials = creds
		}
	})
}

// sessionName is "logstream-<stream id>" within RoleSessionName's characters
// and length, so the customer's CloudTrail shows which stream wrote.
func sessionName(streamID string) string {
	b := []byte("logstream-" + streamID)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0
		if !ok {
			b[i] = '-'
		}
	}
	return string(b[:min(len(b), maxSessionName)])
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
