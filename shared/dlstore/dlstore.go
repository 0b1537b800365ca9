// Package dlstore is the dead-letter store in DynamoDB (deadletter.Letters,
// deadletter.Jobs, deadletter.Counters), in the streams table beside the
// streams it belongs to.
package dlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/jobstore"
)

// Dead-letter items (shared/store/doc.go has the table's whole shape):
//
//	pk DL#<project>          sk L#<stream>#<parked_at>#<id>   a letter's index entry (no events)
//	                                                          (claim, claim_until: the job working on it)
//	pk DLE#<id>              sk <revision>                    its events: a gzip JSON array
//	pk DLID#<id>             sk G                             its guard: the index key it was first stored under
//	pk DLPROJECTS            sk <project>                     projects that have had dead letters
//	pk DLJOB#<project>       sk <job id>                      a redrive or purge job
//	pk DLJOBS                sk <project>#<job id>            a job not yet final
//
// The index entries of one project share a partition, so listing them is
// one Query that reads only that project's small entries; the events are
// read only when asked for, one GetItem per letter.
const (
	dlIndexPrefix   = "DL#"
	dlLetterPrefix  = "L#"
	dlEventsPrefix  = "DLE#"
	dlGuardPrefix   = "DLID#"
	dlProjects      = "DLPROJECTS"
	dlJobPrefix     = "DLJOB#"
	dlActiveJobs    = "DLJOBS"
	dlNoProject     = "-" // the project of letters that name none (undecodable)
	dlOrphanGrace   = 7 * 24 * time.Hour
	dlExpiredAttr   = "dead_letters_expired"
	maxDeadLetterIn = 350 << 10 // DynamoDB's item limit is 400 KB; leave room for the key and attributes
)

// The health item of a stream, as shared/store keys it: the expired count
// is kept there so the health view reads it with the stream's other
// counters.
const (
	projectPrefix = "PROJECT#"
	healthPrefix  = "HEALTH#"
)

func healthKey(projectID, streamID string) map[string]types.AttributeValue {
	return sKey(projectPrefix+projectID, healthPrefix+streamID)
}

// DeadLettersAPI is the part of the DynamoDB client DeadLetters uses.
type DeadLettersAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// DeadLetters is the DynamoDB dead-letter store (deadletter.Letters,
// deadletter.Jobs and deadletter.Counters).
type DeadLetters struct {
	Client DeadLettersAPI
	Table  string
	// TTLAttribute is the table's TTL attribute (topology.Table): the
	// events and guards of letters carry it, a week past their letter's
	// expiry, so what a crash orphaned does not stay for ever. Letters'
	// own expiry is the sweep's, which counts it.
	TTLAttribute string
}

var (
	_ deadletter.Letters  = (*DeadLetters)(nil)
	_ deadletter.Jobs     = (*DeadLetters)(nil)
	_ deadletter.Counters = (*DeadLetters)(nil)
)

type letterItem struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	ID              string `dynamodbav:"id"`
	ProjectID       string `dynamodbav:"project_id"`
	StreamID        string `dynamodbav:"stream_id"`
	DestinationType string `dynamodbav:"destination_type"`
	Reason          string `dynamodbav:"reason"`
	Error           string `dynamodbav:"error"`
	Events          int    `dynamodbav:"events"`
	Bytes           int    `dynamodbav:"bytes"`
	ReceiveCount    int    `dynamodbav:"receive_count"`
	SourceMessageID string `dynamodbav:"source_message_id"`
	ParkedAt        string `dynamodbav:"parked_at"`
	ExpiresAt       string `dynamodbav:"letter_expires_at"`
	Revision        int    `dynamodbav:"revision"`
	// Claim and ClaimUntil (Unix milliseconds) are the job holding the
	// letter (Claim).
	Claim      string `dynamodbav:"claim,omitempty"`
	ClaimUntil int64  `dynamodbav:"claim_until,omitempty"`
}

func projectKey(projectID string) string { return dlIndexPrefix + cmpOr(projectID, dlNoProject) }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func eventsKey(id string, revision int) map[string]types.AttributeValue {
	return sKey(dlEventsPrefix+id, strconv.Itoa(revision))
}

func (d *DeadLetters) ttl(t time.Time) (string, types.AttributeValue) {
	return d.TTLAttribute, &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Add(dlOrphanGrace).Unix(), 10)}
}

// Put stores a letter: its events, then its guard, then its index entry.
// The guard makes parking idempotent although the index key holds the
// parked time. A letter stored again (its DLQ message drained twice, or
// parked twice by a delivery function that died before deleting the source)
// finds its guard: if the index entry it names is there, or the letter is
// done (redriven, purged, expired), nothing more is written; if a crash
// came between guard and index, the index entry is written now, under the
// first parked time.
func (d *DeadLetters) Put(ctx context.Context, l deadletter.Letter, events []json.RawMessage) error {
	g, found, err := d.guard(ctx, l.ID)
	if err != nil {
		return err
	}
	if found {
		if g.Done {
			return nil
		}
		out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table),
			Key: sKey(projectKey(l.ProjectID), g.Key), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("read dead letter %s: %w", l.ID, err)
		}
		if out.Item != nil {
			return nil
		}
		first, err := time.Parse(time.RFC3339Nano, g.ParkedAt)
		if err != nil {
			return fmt.Errorf("dead letter guard %s: parked_at %q: %w", l.ID, g.ParkedAt, err)
		}
		l.ExpiresAt = first.Add(l.ExpiresAt.Sub(l.ParkedAt))
		l.ParkedAt = first
	}
	l.Revision = 0
	if err := d.putEvents(ctx, l, events); err != nil {
		return err
	}
	if !found {
		item := sKey(dlGuardPrefix+l.ID, "G")
		item["key"] = &types.AttributeValueMemberS{Value: dlLetterPrefix + l.Key()}
		item["parked_at"] = &types.AttributeValueMemberS{Value: l.ParkedAt.UTC().Format(time.RFC3339Nano)}
		if d.TTLAttribute != "" {
			n, v := d.ttl(l.ExpiresAt)
			item[n] = v
		}
		_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		var cfe *types.ConditionalCheckFailedException
		if errors.As(err, &cfe) {
			return nil // stored at the same moment by another drain
		}
		if err != nil {
			return fmt.Errorf("store dead letter guard %s: %w", l.ID, err)
		}
	}
	if err := d.putIndex(ctx, l); err != nil {
		return err
	}
	_, err = d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: sKey(dlProjects, cmpOr(l.ProjectID, dlNoProject))})
	if err != nil {
		return fmt.Errorf("register project %s's dead letters: %w", l.ProjectID, err)
	}
	return nil
}

type guardItem struct {
	Key      string `dynamodbav:"key"`
	ParkedAt string `dynamodbav:"parked_at"`
	Done     bool   `dynamodbav:"done"`
}

func (d *DeadLetters) guard(ctx context.Context, id string) (guardItem, bool, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: sKey(dlGuardPrefix+id, "G"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return guardItem{}, false, fmt.Errorf("read dead letter guard %s: %w", id, err)
	}
	if out.Item == nil {
		return guardItem{}, false, nil
	}
	var g guardItem
	if err := attributevalue.UnmarshalMap(out.Item, &g); err != nil {
		return guardItem{}, false, fmt.Errorf("decode dead letter guard %s: %w", id, err)
	}
	return g, true, nil
}

func (d *DeadLetters) putEvents(ctx context.Context, l deadletter.Letter, events []json.RawMessage) error {
	raw, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("encode events of dead letter %s: %w", l.ID, err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(raw)
	if err := zw.Close(); err != nil {
		return err
	}
	if buf.Len() > maxDeadLetterIn {
		// An SQS message holds at most 256 KiB, so a parked one always
		// fits; this is a store used for something larger.
		return fmt.Errorf("dead letter %s: %d bytes compressed, more than an item holds", l.ID, buf.Len())
	}
	item := eventsKey(l.ID, l.Revision)
	item["data"] = &types.AttributeValueMemberB{Value: buf.Bytes()}
	if d.TTLAttribute != "" {
		n, v := d.ttl(l.ExpiresAt)
		item[n] = v
	}
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: item}); err != nil {
		return fmt.Errorf("store events of dead letter %s: %w", l.ID, err)
	}
	return nil
}

func letterToItem(l deadletter.Letter) letterItem {
	it := letterItem{PK: projectKey(l.ProjectID), SK: dlLetterPrefix + l.Key(), ID: l.ID, ProjectID: l.ProjectID, StreamID: l.StreamID,
		DestinationType: l.DestinationType, Reason: string(l.Reason), Error: l.Error, Events: l.Events, Bytes: l.Bytes,
		ReceiveCount: l.ReceiveCount, SourceMessageID: l.SourceMessageID, ParkedAt: l.ParkedAt.UTC().Format(time.RFC3339Nano),
		ExpiresAt: l.ExpiresAt.UTC().Format(time.RFC3339Nano), Revision: l.Revision, Claim: l.Claim}
	if l.Claim != "" {
		it.ClaimUntil = l.ClaimUntil.UnixMilli()
	}
	return it
}

func letterFromItem(it letterItem) deadletter.Letter {
	l := deadletter.Letter{ID: it.ID, ProjectID: it.ProjectID, StreamID: it.StreamID, DestinationType: it.DestinationType,
		Reason: deadletter.Reason(it.Reason), Error: it.Error, Events: it.Events, Bytes: it.Bytes, ReceiveCount: it.ReceiveCount,
		SourceMessageID: it.SourceMessageID, Revision: it.Revision, Claim: it.Claim}
	if it.ClaimUntil != 0 {
		l.ClaimUntil = time.UnixMilli(it.ClaimUntil).UTC()
	}
	l.ParkedAt, _ = time.Parse(time.RFC3339Nano, it.ParkedAt)
	l.ExpiresAt, _ = time.Parse(time.RFC3339Nano, it.ExpiresAt)
	return l
}

func (d *DeadLetters) putIndex(ctx context.Context, l deadletter.Letter) error {
	av, err := attributevalue.MarshalMap(letterToItem(l))
	if err != nil {
		return fmt.Errorf("encode dead letter %s: %w", l.ID, err)
	}
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: av}); err != nil {
		return fmt.Errorf("store dead letter %s: %w", l.ID, err)
	}
	return nil
}

// List returns a page of a project's letters in key order.
func (d *DeadLetters) List(ctx context.Context, projectID, streamID, after string, limit int) ([]deadletter.Letter, string, error) {
	prefix := dlLetterPrefix
	if streamID != "" {
		prefix += streamID + "#"
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(d.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: projectKey(projectID)},
			":sk": &types.AttributeValueMemberS{Value: prefix},
		},
		Limit:          aws.Int32(int32(max(limit, 1))),
		ConsistentRead: aws.Bool(true),
	}
	if after != "" {
		in.ExclusiveStartKey = sKey(projectKey(projectID), dlLetterPrefix+after)
	}
	out, err := d.Client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters of project %s: %w", projectID, err)
	}
	letters := make([]deadletter.Letter, 0, len(out.Items))
	for _, av := range out.Items {
		var it letterItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, "", fmt.Errorf("decode dead letter of project %s: %w", projectID, err)
		}
		letters = append(letters, letterFromItem(it))
	}
	next := ""
	if sk, ok := out.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok {
		next = strings.TrimPrefix(sk.Value, dlLetterPrefix)
	}
	return letters, next, nil
}

// Events reads a letter's events.
func (d *DeadLetters) Events(ctx context.Context, l deadletter.Letter) ([]json.RawMessage, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: eventsKey(l.ID, l.Revision)})
	if err != nil {
		return nil, fmt.Errorf("read events of dead letter %s: %w", l.ID, err)
	}
	b, ok := out.Item["data"].(*types.AttributeValueMemberB)
	if !ok {
		// Replaced or removed since l was read (or orphaned by a crash).
		return nil, fmt.Errorf("events of dead letter %s (revision %d): %w", l.ID, l.Revision, deadletter.ErrLetterGone)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Value))
	if err != nil {
		return nil, fmt.Errorf("events of dead letter %s: %w", l.ID, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("events of dead letter %s: %w", l.ID, err)
	}
	var evs []json.RawMessage
	if err := json.Unmarshal(raw, &evs); err != nil {
		return nil, fmt.Errorf("events of dead letter %s: %w", l.ID, err)
	}
	return evs, nil
}

func indexKey(l deadletter.Letter) map[string]types.AttributeValue {
	return sKey(projectKey(l.ProjectID), dlLetterPrefix+l.Key())
}

// Claim takes a letter for a job with one conditional UpdateItem on its
// index entry (no transaction: the stand-in has none, and one item needs
// none). A claim of another job that has not run out fails it.
func (d *DeadLetters) Claim(ctx context.Context, l deadletter.Letter, jobID string, now, until time.Time) (deadletter.Letter, error) {
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: indexKey(l),
		UpdateExpression:         aws.String("SET #c = :job, #u = :until"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND (attribute_not_exists(#c) OR #c = :job OR #u <= :now)"),
		ExpressionAttributeNames: map[string]string{"#c": "claim", "#u": "claim_until"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":job":   &types.AttributeValueMemberS{Value: jobID},
			":until": &types.AttributeValueMemberN{Value: strconv.FormatInt(until.UnixMilli(), 10)},
			":now":   &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return l, d.conditionFailed(ctx, l, err, "claim")
	}
	var it letterItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return l, fmt.Errorf("decode dead letter %s: %w", l.ID, err)
	}
	return letterFromItem(it), nil
}

// conditionFailed tells why a conditional write on a letter's index entry
// failed: the entry is gone (ErrLetterGone), or it is there with another
// claim or revision (ErrLetterClaimed). Any other error is returned as it
// is, with what was being done.
func (d *DeadLetters) conditionFailed(ctx context.Context, l deadletter.Letter, err error, doing string) error {
	var cfe *types.ConditionalCheckFailedException
	if !errors.As(err, &cfe) {
		return fmt.Errorf("%s dead letter %s: %w", doing, l.ID, err)
	}
	// Read after the failure. ReturnValuesOnConditionCheckFailure would
	// save the read; it is not used because it has not been checked on
	// the stand-in (dynalite), and a refused claim is rare.
	out, gerr := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: indexKey(l), ConsistentRead: aws.Bool(true)})
	switch {
	case gerr != nil:
		return fmt.Errorf("%s dead letter %s: %w", doing, l.ID, gerr)
	case out.Item == nil:
		return fmt.Errorf("%s dead letter %s: %w", doing, l.ID, deadletter.ErrLetterGone)
	}
	return fmt.Errorf("%s dead letter %s: %w", doing, l.ID, deadletter.ErrLetterClaimed)
}

// letterCondition is the condition of a write that acts on a letter as
// read: the same revision, and the same claim if it had one.
func letterCondition(l deadletter.Letter, values map[string]types.AttributeValue) (string, map[string]string) {
	values[":rev"] = &types.AttributeValueMemberN{Value: strconv.Itoa(l.Revision)}
	if l.Claim == "" {
		return "#r = :rev", map[string]string{"#r": "revision"}
	}
	values[":job"] = &types.AttributeValueMemberS{Value: l.Claim}
	return "#r = :rev AND #c = :job", map[string]string{"#r": "revision", "#c": "claim"}
}

// Replace keeps only some of a letter's events: the new ones are written
// under the next revision, the index entry then points at them (if it
// still is the revision read, held by the claim read) and lets go of the
// claim, and the old ones go.
func (d *DeadLetters) Replace(ctx context.Context, l deadletter.Letter, events []json.RawMessage) (deadletter.Letter, error) {
	n := l
	n.Revision++
	n.Events, n.Bytes = len(events), 0
	n.Claim, n.ClaimUntil = "", time.Time{}
	for _, e := range events {
		n.Bytes += len(e)
	}
	if err := d.putEvents(ctx, n, events); err != nil {
		return l, err
	}
	values := map[string]types.AttributeValue{
		":new": &types.AttributeValueMemberN{Value: strconv.Itoa(n.Revision)},
		":n":   &types.AttributeValueMemberN{Value: strconv.Itoa(n.Events)},
		":b":   &types.AttributeValueMemberN{Value: strconv.Itoa(n.Bytes)},
	}
	cond, names := letterCondition(l, values)
	names["#c"], names["#u"] = "claim", "claim_until"
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: indexKey(l),
		UpdateExpression:          aws.String("SET #r = :new, events = :n, bytes = :b REMOVE #c, #u"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return l, d.conditionFailed(ctx, l, err, "replace events of")
	}
	d.deleteEvents(ctx, l)
	return n, nil
}

// deleteEvents removes events no index entry points at any more; a
// failure leaves them to the TTL.
func (d *DeadLetters) deleteEvents(ctx context.Context, l deadletter.Letter) {
	_, _ = d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table), Key: eventsKey(l.ID, l.Revision)})
}

// Delete removes a letter: its guard is marked done first (so the letter
// is never stored again from a late copy of its DLQ message), then its
// index entry, if it still is the revision and claim read, and its events
// go. A delete refused for a changed letter leaves the guard done, which
// only keeps a late copy of the letter from being stored beside it.
func (d *DeadLetters) Delete(ctx context.Context, l deadletter.Letter) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: sKey(dlGuardPrefix+l.ID, "G"),
		UpdateExpression:          aws.String("SET done = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if err != nil {
		return fmt.Errorf("mark dead letter %s done: %w", l.ID, err)
	}
	values := map[string]types.AttributeValue{}
	cond, names := letterCondition(l, values)
	_, err = d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table), Key: indexKey(l),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if err != nil {
		if err = d.conditionFailed(ctx, l, err, "delete"); !errors.Is(err, deadletter.ErrLetterGone) {
			return err
		}
	}
	d.deleteEvents(ctx, l)
	return nil
}

// Projects lists the projects that have had dead letters ("" for letters
// that name none).
func (d *DeadLetters) Projects(ctx context.Context) ([]string, error) {
	p := dynamodb.NewQueryPaginator(d.Client, &dynamodb.QueryInput{
		TableName:                 aws.String(d.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: dlProjects}},
	})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list projects with dead letters: %w", err)
		}
		for _, av := range page.Items {
			if sk, ok := av["sk"].(*types.AttributeValueMemberS); ok {
				if sk.Value == dlNoProject {
					out = append(out, "")
				} else {
					out = append(out, sk.Value)
				}
			}
		}
	}
	return out, nil
}

// AddExpired counts events that expired on a stream's health item.
func (d *DeadLetters) AddExpired(ctx context.Context, projectID, streamID string, events int) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table), Key: healthKey(projectID, streamID),
		UpdateExpression:          aws.String("ADD #x :n"),
		ExpressionAttributeNames:  map[string]string{"#x": dlExpiredAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(events)}},
	})
	if err != nil {
		return fmt.Errorf("count expired dead letters of stream %s: %w", streamID, err)
	}
	return nil
}

// Expired reads the expired counts of a project's streams.
func (d *DeadLetters) Expired(ctx context.Context, projectID string) (map[string]int64, error) {
	p := dynamodb.NewQueryPaginator(d.Client, &dynamodb.QueryInput{
		TableName:              aws.String(d.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
			":sk": &types.AttributeValueMemberS{Value: healthPrefix},
		},
	})
	out := map[string]int64{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read expired dead letters of project %s: %w", projectID, err)
		}
		for _, av := range page.Items {
			var it struct {
				SK      string `dynamodbav:"sk"`
				Expired int64  `dynamodbav:"dead_letters_expired"`
			}
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, err
			}
			if it.Expired > 0 {
				out[strings.TrimPrefix(it.SK, healthPrefix)] = it.Expired
			}
		}
	}
	return out, nil
}

// jobDoc is a job as stored: its API fields and the worker's.
type jobDoc struct {
	deadletter.Job
	Cursor     string    `json:"cursor,omitempty"`
	LeaseUntil time.Time `json:"lease_until"`
	Failures   int       `json:"failures,omitempty"`
}

// jobKind is how shared/jobstore keeps dead-letter jobs.
var jobKind = jobstore.Kind[deadletter.Job]{
	Prefix: dlJobPrefix, Active: dlActiveJobs,
	Key:     func(j deadletter.Job) (string, string) { return j.ProjectID, j.ID },
	Final:   func(j deadletter.Job) bool { return j.State.Final() },
	Created: func(j deadletter.Job) time.Time { return j.CreatedAt },
	Version: func(j *deadletter.Job) *int64 { return &j.Version },
	Encode: func(j deadletter.Job) ([]byte, error) {
		return json.Marshal(jobDoc{Job: j, Cursor: j.Cursor, LeaseUntil: j.LeaseUntil, Failures: j.Failures})
	},
	Decode: func(b []byte) (deadletter.Job, error) {
		var doc jobDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			return deadletter.Job{}, err
		}
		j := doc.Job
		j.Cursor, j.LeaseUntil, j.Failures = doc.Cursor, doc.LeaseUntil, doc.Failures
		return j, nil
	},
	ErrExists: deadletter.ErrJobExists, ErrNotFound: deadletter.ErrJobNotFound, ErrConflict: deadletter.ErrJobConflict,
}

func (d *DeadLetters) jobs() *jobstore.Store[deadletter.Job] {
	return &jobstore.Store[deadletter.Job]{Client: d.Client, Table: d.Table, Kind: jobKind}
}

// CreateJob stores a new job and marks it active.
func (d *DeadLetters) CreateJob(ctx context.Context, j deadletter.Job) (deadletter.Job, error) {
	return d.jobs().Create(ctx, j)
}

// GetJob reads one job.
func (d *DeadLetters) GetJob(ctx context.Context, projectID, id string) (deadletter.Job, error) {
	return d.jobs().Get(ctx, projectID, id)
}

// ListJobs returns a project's newest jobs first.
func (d *DeadLetters) ListJobs(ctx context.Context, projectID string, limit int) ([]deadletter.Job, error) {
	return d.jobs().List(ctx, projectID, limit)
}

// UpdateJob writes a job if it still has the version read.
func (d *DeadLetters) UpdateJob(ctx context.Context, j deadletter.Job) (deadletter.Job, error) {
	return d.jobs().Update(ctx, j)
}

// ActiveJobs returns every job not yet final.
func (d *DeadLetters) ActiveJobs(ctx context.Context) ([]deadletter.Job, error) {
	return d.jobs().Active(ctx)
}
