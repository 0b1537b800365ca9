package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/stream"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses, for every
// kind of item.
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Sealer encrypts destination secrets at rest (shared/secret provides it).
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// Streams is the DynamoDB stream repository. Destination secrets are split
// from the config, sealed with the stream as additional data, and stored in
// their own attribute; the config is stored without them.
type Streams struct {
	Client DynamoDBAPI
	Table  string
	// Sealer seals and opens secrets. Without one, streams are read without
	// their secrets and cannot be written: that is ingestion, which routes
	// events and never needs a destination's credentials.
	Sealer Sealer
}

const (
	projectPrefix = "PROJECT#"
	streamPrefix  = "STREAM#"
)

// item is a stream as stored.
type item struct {
	PK                string `dynamodbav:"pk"`
	SK                string `dynamodbav:"sk"`
	ID                string `dynamodbav:"id"`
	ProjectID         string `dynamodbav:"project_id"`
	Name              string `dynamodbav:"name"`
	DestinationType   string `dynamodbav:"destination_type"`
	DestinationConfig string `dynamodbav:"destination_config"`
	Status            string `dynamodbav:"status"`
	StatusReason      string `dynamodbav:"status_reason,omitempty"`
	Filters           string `dynamodbav:"filters,omitempty"`
	PII               string `dynamodbav:"pii,omitempty"`
	Suspension        string `dynamodbav:"suspension,omitempty"`
	CreatedAt         string `dynamodbav:"created_at"`
	UpdatedAt         string `dynamodbav:"updated_at"`
	Version           int64  `dynamodbav:"version"`
	Secrets           []byte `dynamodbav:"secrets,omitempty"`
}

func aad(projectID, streamID string) []byte { return []byte(projectID + "/" + streamID) }

// seal moves the secrets out of st's config into it.Secrets, sealed.
func (s *Streams) seal(ctx context.Context, st stream.Stream, it *item) error {
	c, err := st.Destination()
	if err != nil {
		return err
	}
	clear, secrets, err := destination.Split(c)
	if err != nil {
		return fmt.Errorf("split stream %s secrets: %w", st.ID, err)
	}
	it.DestinationConfig = string(clear)
	if len(secrets) == 0 {
		return nil
	}
	if s.Sealer == nil {
		return errors.New("store: cannot write destination secrets without a sealer")
	}
	plain, _ := json.Marshal(secrets)
	if it.Secrets, err = s.Sealer.Seal(ctx, plain, aad(st.ProjectID, st.ID)); err != nil {
		return fmt.Errorf("seal stream %s secrets: %w", st.ID, err)
	}
	return nil
}

// open puts a stored stream's secrets back into its config.
func (s *Streams) open(ctx context.Context, st *stream.Stream, sealed []byte) error {
	if len(sealed) == 0 || s.Sealer == nil {
		return nil
	}
	plain, err := s.Sealer.Open(ctx, sealed, aad(st.ProjectID, st.ID))
	if err != nil {
		return fmt.Errorf("open stream %s secrets: %w", st.ID, err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return fmt.Errorf("open stream %s secrets: %w", st.ID, err)
	}
	c, err := destination.Join(st.DestinationType, st.DestinationConfig, secrets)
	if err != nil {
		return fmt.Errorf("join stream %s secrets: %w", st.ID, err)
	}
	st.DestinationConfig, err = json.Marshal(c)
	return err
}

func key(projectID, streamID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
		"sk": &types.AttributeValueMemberS{Value: streamPrefix + streamID},
	}
}

func toItem(s stream.Stream) (item, error) {
	it := item{
		PK: projectPrefix + s.ProjectID, SK: streamPrefix + s.ID, ID: s.ID, ProjectID: s.ProjectID, Name: s.Name,
		DestinationType: s.DestinationType, DestinationConfig: string(s.DestinationConfig), Status: string(s.Status), StatusReason: s.StatusReason,
		CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: s.UpdatedAt.UTC().Format(time.RFC3339Nano),
		Version: s.Version,
	}
	// Plain structs of strings: marshalling them cannot fail.
	if s.Filters != nil {
		b, _ := json.Marshal(s.Filters)
		it.Filters = string(b)
	}
	if s.PII != nil {
		b, _ := json.Marshal(s.PII)
		it.PII = string(b)
	}
	if s.Suspension != nil {
		b, _ := json.Marshal(s.Suspension)
		it.Suspension = string(b)
	}
	return it, nil
}

func (s *Streams) fromItem(ctx context.Context, av map[string]types.AttributeValue) (stream.Stream, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return stream.Stream{}, fmt.Errorf("decode stream item: %w", err)
	}
	created, err1 := time.Parse(time.RFC3339Nano, it.CreatedAt)
	updated, err2 := time.Parse(time.RFC3339Nano, it.UpdatedAt)
	if err := errors.Join(err1, err2); err != nil {
		return stream.Stream{}, fmt.Errorf("decode stream %s timestamps: %w", it.ID, err)
	}
	if !json.Valid([]byte(it.DestinationConfig)) {
		return stream.Stream{}, fmt.Errorf("decode stream %s: destination_config is not JSON", it.ID)
	}
	st := stream.Stream{
		ID: it.ID, ProjectID: it.ProjectID, Name: it.Name, DestinationType: it.DestinationType,
		DestinationConfig: json.RawMessage(it.DestinationConfig), Status: stream.Status(it.Status), StatusReason: it.StatusReason,
		CreatedAt: created, UpdatedAt: updated, Version: it.Version,
	}
	if it.Filters != "" {
		st.Filters = new(stream.Filters)
		if err := json.Unmarshal([]byte(it.Filters), st.Filters); err != nil {
			return stream.Stream{}, fmt.Errorf("decode stream %s filters: %w", it.ID, err)
		}
	}
	if it.Suspension != "" {
		st.Suspension = new(stream.Suspension)
		if err := json.Unmarshal([]byte(it.Suspension), st.Suspension); err != nil {
			return stream.Stream{}, fmt.Errorf("decode stream %s suspension: %w", it.ID, err)
		}
	}
	if it.PII != "" {
		st.PII = new(stream.PII)
		if err := json.Unmarshal([]byte(it.PII), st.PII); err != nil {
			return stream.Stream{}, fmt.Errorf("decode stream %s pii: %w", it.ID, err)
		}
	}
	if err := s.open(ctx, &st, it.Secrets); err != nil {
		return stream.Stream{}, err
	}
	return st, nil
}

// encode turns a stream into its item, secrets sealed.
func (s *Streams) encode(ctx context.Context, st stream.Stream) (map[string]types.AttributeValue, error) {
	it, err := toItem(st)
	if err != nil {
		return nil, err
	}
	if err := s.seal(ctx, st, &it); err != nil {
		return nil, err
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode stream %s: %w", st.ID, err)
	}
	return av, nil
}

// Create stores a new stream, unless its project already has limit streams
// (stream.ErrLimitReached). It fails rather than overwrite an existing id.
// st.ID must be fresh from stream.NewID: the place it takes is reclaimed if
// the stream is not stored within createWindow of that (see slots.go).
func (s *Streams) Create(ctx context.Context, st stream.Stream, limit int) error {
	born, ok := stream.IDTime(st.ID)
	if !ok {
		return fmt.Errorf("create stream %s: not an id stream.NewID made", st.ID)
	}
	putBy := born.Add(createWindow)
	if !time.Now().Before(putBy) {
		return fmt.Errorf("create stream %s: its id was made more than %s ago", st.ID, createWindow)
	}
	av, err := s.encode(ctx, st)
	if err != nil {
		return err
	}
	if err := s.register(ctx, st.ProjectID); err != nil {
		return err
	}
	if err := s.reserve(ctx, st.ProjectID, st.ID, limit); err != nil {
		return err
	}
	// After putBy the place may be reclaimed: the put must not land later.
	ctx, cancel := context.WithDeadline(ctx, putBy)
	defer cancel()
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		// Only this create reserved the id, so the stream that exists is
		// its own: an earlier attempt of this put landed and the SDK
		// retried after its answer was lost.
		return nil
	}
	if err != nil {
		// The put may still have landed; the place is kept, and reclaimed
		// if the stream is not there (slots.go).
		return fmt.Errorf("put stream %s: %w", st.ID, err)
	}
	return nil
}

// Update replaces a stream whose stored version is expected. It returns
// stream.ErrConflict when another write got there first, and
// stream.ErrNotFound when the stream is gone.
func (s *Streams) Update(ctx context.Context, st stream.Stream, expected int64) error {
	av, err := s.encode(ctx, st)
	if err != nil {
		return err
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.Table),
		Item:                      av,
		ConditionExpression:       aws.String("attribute_exists(pk) AND version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(expected, 10)}},
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		if _, gerr := s.Get(ctx, st.ProjectID, st.ID); errors.Is(gerr, stream.ErrNotFound) {
			return stream.ErrNotFound
		}
		return stream.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("update stream %s: %w", st.ID, err)
	}
	return nil
}

// Suspend marks an active stream suspended, with the reason, one version
// later, so ingestion stops routing events to it until its owner resumes it.
// A stream that is no longer active (paused, deleted, already suspended) is
// left as it is. It reports whether this call suspended the stream: of
// several invocations that decide to, exactly one did, and it alone tells.
func (s *Streams) Suspend(ctx context.Context, projectID, streamID, reason string) (bool, error) {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      key(projectID, streamID),
		UpdateExpression:         aws.String("SET #status = :suspended, status_reason = :reason, updated_at = :now, version = version + :one"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #status = :active"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":suspended": &types.AttributeValueMemberS{Value: string(stream.StatusSuspended)},
			":active":    &types.AttributeValueMemberS{Value: string(stream.StatusActive)},
			":reason":    &types.AttributeValueMemberS{Value: reason},
			":now":       &types.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
			":one":       &types.AttributeValueMemberN{Value: "1"},
		},
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("suspend stream %s: %w", streamID, err)
	}
	return true, nil
}

// Get returns one stream, or stream.ErrNotFound.
func (s *Streams) Get(ctx context.Context, projectID, streamID string) (stream.Stream, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            key(projectID, streamID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return stream.Stream{}, fmt.Errorf("get stream %s: %w", streamID, err)
	}
	if len(out.Item) == 0 {
		return stream.Stream{}, stream.ErrNotFound
	}
	return s.fromItem(ctx, out.Item)
}

// Delete removes a stream, or returns stream.ErrNotFound.
func (s *Streams) Delete(ctx context.Context, projectID, streamID string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(projectID, streamID),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		return stream.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete stream %s: %w", streamID, err)
	}
	// The stream's delivery counters, its circuit and its place in the project's limit go
	// with it. A failure here leaves a small orphan item, or a place that the
	// next create at the limit reclaims (slots.go): not a reason to answer the
	// delete with an error.
	_, _ = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: healthKey(projectID, streamID)})
	_, _ = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: legacyHealthKey(projectID, streamID)})
	_, _ = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: hoursKey(projectID, streamID)})
	_, _ = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: circuitKey([2]string{projectID, streamID})})
	_, _ = s.release(ctx, projectID, streamID)
	return nil
}

// projectStreams queries one project's streams, in id (so creation) order.
func (s *Streams) projectStreams(projectID string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
			":sk": &types.AttributeValueMemberS{Value: streamPrefix},
		},
	}
}

// errBadCursor is returned for a cursor List did not issue.
var errBadCursor = &stream.ValidationError{Field: "cursor", Msg: "is not a cursor this API issued"}

// List returns up to limit streams of a project, oldest first, and a cursor
// for the next page ("" on the last page).
func (s *Streams) List(ctx context.Context, projectID string, limit int, cursor string) ([]stream.Stream, string, error) {
	in := s.projectStreams(projectID)
	in.Limit = aws.Int32(int32(limit))
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !stream.ValidStreamID(string(raw)) {
			return nil, "", errBadCursor
		}
		in.ExclusiveStartKey = key(projectID, string(raw))
	}
	out, err := s.Client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list streams of %s: %w", projectID, err)
	}
	streams := make([]stream.Stream, 0, len(out.Items))
	for _, av := range out.Items {
		st, err := s.fromItem(ctx, av)
		if err != nil {
			return nil, "", err
		}
		streams = append(streams, st)
	}
	next := ""
	if sk, ok := out.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok && len(streams) == limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(strings.TrimPrefix(sk.Value, streamPrefix)))
	}
	return streams, next, nil
}

// Active returns every active stream of a project (all pages).
func (s *Streams) Active(ctx context.Context, projectID string) ([]stream.Stream, error) {
	p := dynamodb.NewQueryPaginator(s.Client, s.projectStreams(projectID))
	var active []stream.Stream
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query streams of %s: %w", projectID, err)
		}
		for _, av := range out.Items {
			st, err := s.fromItem(ctx, av)
			if err != nil {
				return nil, err
			}
			if st.Status == stream.StatusActive {
				active = append(active, st)
			}
		}
	}
	return active, nil
}
