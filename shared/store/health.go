package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/stream"
)

const healthPrefix = "HEALTH#"

// maxErrorLength bounds the last error kept for the health view.
const maxErrorLength = 512

type healthItem struct {
	DeliveredEvents int64  `dynamodbav:"delivered_events"`
	FailedEvents    int64  `dynamodbav:"failed_events"`
	RetriedAttempts int64  `dynamodbav:"retried_attempts"`
	LastSuccessAt   string `dynamodbav:"last_success_at"`
	LastError       string `dynamodbav:"last_error"`
	LastErrorAt     string `dynamodbav:"last_error_at"`
	// FailingSince and PermanentFailures are the current FailureRun:
	// absent while the destination succeeds.
	FailingSince      string `dynamodbav:"failing_since"`
	PermanentFailures int64  `dynamodbav:"permanent_failures"`
}

func (it healthItem) run() stream.FailureRun {
	r := stream.FailureRun{PermanentFailures: int(it.PermanentFailures)}
	if t, err := time.Parse(time.RFC3339Nano, it.FailingSince); err == nil {
		r.FailingSince = t
	}
	return r
}

// healthPartition and healthSort key a stream's delivery counters: an item
// under a partition key of its own. Every delivery invocation that carries
// a stream's messages writes it, so a project of many busy streams would
// make its own partition key hot if they shared it (docs/scaling.md: 25
// streams at 100,000 events/s are ~10,000 writes/s, ten times what a
// partition takes); one key per stream spreads them.
const (
	healthPartition = "HEALTH#"
	healthSort      = "HEALTH"
)

func healthKey(projectID, streamID string) map[string]types.AttributeValue {
	return healthPartitionKey(projectID, streamID, healthSort)
}

// healthPartitionKey is the key of one of a stream's items under its
// health partition key: the counters (healthSort) or the kept hours
// (hoursSort).
func healthPartitionKey(projectID, streamID, sort string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: healthPartition + projectID + "#" + streamID},
		"sk": &types.AttributeValueMemberS{Value: sort},
	}
}

// legacyHealthKey is where the counters were kept until issue 16, beside
// the project's streams. Health still reads it and adds its counts, so an
// upgrade loses none, and Delete removes it; the dead-letter store keeps
// its expired count there (shared/dlstore), a rare write.
func legacyHealthKey(projectID, streamID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
		"sk": &types.AttributeValueMemberS{Value: healthPrefix + streamID},
	}
}

// Record adds one invocation's tally to a stream's counters: one UpdateItem,
// ADD for every count, so concurrent delivery invocations never lose one.
// The events parked count in failed_events; where they are now (waiting,
// redriven, purged, expired) is the dead-letter store's to say.
//
// The same update keeps the stream's FailureRun and returns it, so the caller
// decides on suspension from what is stored, not from a read that another
// invocation's write may have overtaken: a delivered event REMOVEs the run; a
// failure sets failing_since only if_not_exists (the first failure of the
// run wins, whichever invocation writes first) and ADDs to
// permanent_failures when it was permanent.
//
// And it counts the tally into the hour of at (hourly.go): ADD to the
// current hour's counters, on the condition that the item's current hour is
// not before at's. The first write of a new hour fails that condition; it
// reads the item, moves the finished hour into the kept hours, and writes
// totals, run and the new hour in one conditional update, retried if another
// invocation rolled the hour first. So every count lands in its total and in
// one hour, in the same atomic write.
func (s *Streams) Record(ctx context.Context, projectID, streamID string, t stream.Tally, at time.Time) (stream.FailureRun, error) {
	if t.Zero() {
		return stream.FailureRun{}, nil
	}
	hour := unixHour(at)
	for attempt := 0; ; attempt++ {
		u := recordUpdate(t, at)
		if attempt == 0 {
			addHour(u, hour, t)
		} else {
			h, err := s.readHourly(ctx, projectID, streamID)
			if err != nil {
				return stream.FailureRun{}, err
			}
			switch slotAt := h.slotOf(hour).At; {
			case slotAt == hour: // another write started the hour
				addHour(u, hour, t)
			case slotAt > hour:
				// Two hours late (a clock far behind): counted in the
				// slot's hour, not lost.
				hour = slotAt
				addHour(u, hour, t)
			default:
				if err := s.roll(ctx, projectID, streamID, h, u, hour, t); err != nil {
					return stream.FailureRun{}, err
				}
			}
		}
		out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.Table),
			Key:                       healthKey(projectID, streamID),
			UpdateExpression:          aws.String(u.expression()),
			ConditionExpression:       aws.String(u.condition),
			ExpressionAttributeNames:  u.names,
			ExpressionAttributeValues: u.values,
			ReturnValues:              types.ReturnValueAllNew,
		})
		var cfe *types.ConditionalCheckFailedException
		if errors.As(err, &cfe) && attempt < maxRollAttempts {
			continue
		}
		if err != nil {
			return stream.FailureRun{}, fmt.Errorf("record delivery counters of stream %s: %w", streamID, err)
		}
		var it healthItem
		if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
			return stream.FailureRun{}, fmt.Errorf("decode health of stream %s: %w", streamID, err)
		}
		return it.run(), nil
	}
}

// maxRollAttempts bounds the retries of a Record whose hour's slot other
// writes keep changing: each retry follows another write that succeeded,
// and only the first writes of an hour contend (hourly.go).
const maxRollAttempts = 8

// recordUpdate is the update of a stream's totals and failure run for one
// tally, before its hour is added (addHour, hourly.roll).
func recordUpdate(t stream.Tally, at time.Time) *update {
	now := &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339Nano)}
	u := &update{names: map[string]string{}, values: map[string]types.AttributeValue{}}
	u.add("delivered_events", int64(t.Delivered))
	u.add("retried_attempts", int64(t.Retried))
	u.add("failed_events", int64(t.Parked()))
	if t.Failed() && t.Permanent {
		u.add("permanent_failures", 1)
	}
	if t.Delivered > 0 {
		u.sets = append(u.sets, "last_success_at = :t")
		u.remove = append(u.remove, "failing_since", "permanent_failures")
	}
	if t.Failed() {
		u.sets = append(u.sets, "failing_since = if_not_exists(failing_since, :t)")
	}
	if t.LastError != "" {
		reason := t.LastError
		if len(reason) > maxErrorLength {
			reason = reason[:maxErrorLength]
		}
		u.values[":e"] = &types.AttributeValueMemberS{Value: reason}
		u.sets = append(u.sets, "last_error = :e, last_error_at = :t")
	}
	if len(u.sets) > 0 {
		u.values[":t"] = now
	}
	return u
}

// ResetFailures ends a stream's FailureRun, as enabling a suspended stream
// does: its next failure starts a new run, so it is not suspended again at
// once for the run that suspended it.
func (s *Streams) ResetFailures(ctx context.Context, projectID, streamID string) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              healthKey(projectID, streamID),
		UpdateExpression: aws.String("REMOVE failing_since, permanent_failures"),
		// No item means no run: nothing to create.
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	var cfe *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &cfe) {
		return fmt.Errorf("reset failures of stream %s: %w", streamID, err)
	}
	return nil
}

// Health returns a stream's delivery record (zero when nothing was delivered
// yet): its counters, plus those an earlier deployment kept under the
// legacy key (counts added, the later of each time). The failure run is
// the current item's alone: it is what Record returns and suspension
// decides on, and a legacy run would never end, as nothing writes there.
// Its hours are the current item's, as kept (hourly.go).
func (s *Streams) Health(ctx context.Context, projectID, streamID string) (stream.Health, error) {
	var cur, old healthItem
	var hours hourly
	for _, r := range []struct {
		key map[string]types.AttributeValue
		it  *healthItem
	}{{healthKey(projectID, streamID), &cur}, {legacyHealthKey(projectID, streamID), &old}} {
		out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: r.key})
		if err != nil {
			return stream.Health{}, fmt.Errorf("get health of stream %s: %w", streamID, err)
		}
		if err := attributevalue.UnmarshalMap(out.Item, r.it); err != nil {
			return stream.Health{}, fmt.Errorf("decode health of stream %s: %w", streamID, err)
		}
		if r.it == &cur {
			if hours.Slots, err = decodeSlots(out.Item); err != nil {
				return stream.Health{}, fmt.Errorf("decode hours of stream %s: %w", streamID, err)
			}
		}
	}
	// The kept hours after the slots: a roll that moves a slot's hour
	// between the two reads leaves it in both (counted once, the slot's),
	// never in neither.
	kept, err := s.readKept(ctx, projectID, streamID)
	if err != nil {
		return stream.Health{}, err
	}
	hours.Kept = kept
	// Its dead letters, as they are now, are the dead-letter store's
	// (shared/deadletter); the API adds them.
	h := stream.Health{DeliveredEvents: cur.DeliveredEvents + old.DeliveredEvents, FailedEvents: cur.FailedEvents + old.FailedEvents,
		RetriedAttempts: cur.RetriedAttempts + old.RetriedAttempts, Hourly: hours.counts()}
	if a, _ := later(cur.LastSuccessAt, old.LastSuccessAt); a != nil {
		h.LastSuccessAt = a
	}
	if a, first := later(cur.LastErrorAt, old.LastErrorAt); a != nil {
		h.LastErrorAt, h.LastError = a, &cur.LastError
		if !first {
			h.LastError = &old.LastError
		}
	}
	if r := cur.run(); !r.FailingSince.IsZero() {
		h.FailingSince = &r.FailingSince
		h.PermanentFailures = int64(r.PermanentFailures)
	}
	return h, nil
}

// later is the later of two stored times (RFC 3339), and whether it is the
// first; nil when neither is one.
func later(a, b string) (*time.Time, bool) {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	switch {
	case errA != nil && errB != nil:
		return nil, false
	case errB != nil || errA == nil && !tb.After(ta):
		return &ta, true
	default:
		return &tb, false
	}
}
