package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/stream"
)

// A stream's counts per hour. The hours being counted live on its health
// item, beside the totals, so one UpdateItem writes both (Record). Two
// slots hold them, one for even hours (prefix ha_) and one for odd ones
// (hb_), so the writes of one hour never touch the slot the next hour
// starts in:
//   - <slot>at: the slot's hour, as hours since the Unix epoch;
//   - <slot>d, <slot>f, <slot>p, <slot>ls, <slot>lc: its delivered events,
//     failed attempts, parked events, lag sum (ms) and the events the lag
//     sum counts;
//   - <slot>v: how many writes the slot took since its hour began.
//
// The finished hours of the last week live on an item of their own beside
// it (sk "HOURS", hoursKey), one attribute per hour ("h" and the hour's
// number: a map of the same five counts), so the health item every
// delivery invocation writes stays ~150 bytes, one write unit, and not the
// ~7 KB a week of hours takes (seven units a write; docs/cost.md).
//
// A write ADDs to its hour's slot, on the condition that the slot holds
// that hour (or none yet). The first write of an hour finds the slot
// holding the hour before last (or older): it reads the health item, SETs
// that hour on the hours item (and REMOVEs those a week old), then starts
// the slot with its own counts in an update conditional on the slot's hour
// and version, so a late write the read missed is not undone; a failed
// condition reads again and SETs the hour again, with what it now holds.
// Until the slot is started the hour is in both items; the slot's counts
// win (hourly.counts), so an interrupted roll counts nothing twice.
const (
	hoursSort     = "HOURS"
	hourAttrStart = "h"
)

func hoursKey(projectID, streamID string) map[string]types.AttributeValue {
	return healthPartitionKey(projectID, streamID, hoursSort)
}

// hourCounters are an hour's counts, as stored (an entry of hours).
type hourCounters struct {
	D  int64 `dynamodbav:"d"`
	F  int64 `dynamodbav:"f"`
	P  int64 `dynamodbav:"p"`
	LS int64 `dynamodbav:"ls"`
	LC int64 `dynamodbav:"lc"`
}

func (c hourCounters) zero() bool { return c == hourCounters{} }

func tallyCounters(t stream.Tally) hourCounters {
	return hourCounters{D: int64(t.Delivered), F: int64(t.Retried), P: int64(t.Parked()), LS: t.LagMillis, LC: int64(t.LagEvents)}
}

// slot is one of the two hours being counted.
type slot struct {
	At int64
	C  hourCounters
	V  int64
}

// slotPrefix is the attribute prefix of the slot that counts hour.
func slotPrefix(hour int64) string {
	if hour%2 == 0 {
		return "ha_"
	}
	return "hb_"
}

// hourly is a stream's hours: its health item's slots and the hours item.
type hourly struct {
	Slots [2]slot // ha_, hb_
	Kept  map[int64]hourCounters
}

// decodeSlots reads the slots of a health item.
func decodeSlots(item map[string]types.AttributeValue) ([2]slot, error) {
	var out [2]slot
	for i, p := range []string{"ha_", "hb_"} {
		s := &out[i]
		for _, f := range []struct {
			name string
			to   *int64
		}{{"at", &s.At}, {"d", &s.C.D}, {"f", &s.C.F}, {"p", &s.C.P}, {"ls", &s.C.LS}, {"lc", &s.C.LC}, {"v", &s.V}} {
			v, ok := item[p+f.name].(*types.AttributeValueMemberN)
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				return out, fmt.Errorf("attribute %s%s: %w", p, f.name, err)
			}
			*f.to = n
		}
	}
	return out, nil
}

// decodeKept reads the hours item: every attribute "h<hour>" that is a map.
func decodeKept(item map[string]types.AttributeValue) (map[int64]hourCounters, error) {
	out := map[int64]hourCounters{}
	for name, v := range item {
		rest, ok := strings.CutPrefix(name, hourAttrStart)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			continue // not an hour
		}
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			continue
		}
		var c hourCounters
		if err := attributevalue.UnmarshalMap(m.Value, &c); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[n] = c
	}
	return out, nil
}

// slotOf is the slot that counts hour.
func (h *hourly) slotOf(hour int64) *slot { return &h.Slots[hour%2] }

// counts are the hours, oldest first: the kept ones and both slots'. An
// hour in a slot and kept too (a roll that stopped between its two writes)
// is the slot's: it is what the hour counted since.
func (h hourly) counts() []stream.HourCount {
	all := maps.Clone(h.Kept)
	if all == nil {
		all = map[int64]hourCounters{}
	}
	for _, s := range h.Slots {
		if s.At > 0 && !s.C.zero() {
			all[s.At] = s.C
		}
	}
	out := make([]stream.HourCount, 0, len(all))
	for n, c := range all {
		out = append(out, stream.HourCount{Hour: time.Unix(n*3600, 0).UTC(), Delivered: c.D, Failed: c.F, Parked: c.P, LagSum: c.LS, LagEvents: c.LC})
	}
	slices.SortFunc(out, func(a, b stream.HourCount) int { return a.Hour.Compare(b.Hour) })
	return out
}

func unixHour(t time.Time) int64 { return t.Unix() / 3600 }

// update is an UpdateItem's expression as it is built.
type update struct {
	names      map[string]string
	values     map[string]types.AttributeValue
	adds, sets []string
	remove     []string
	condition  string
}

// add ADDs n to attr (a top-level number), unless n is 0.
func (u *update) add(attr string, n int64) {
	if n == 0 {
		return
	}
	k := strconv.Itoa(len(u.values))
	u.names["#a"+k], u.values[":n"+k] = attr, &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
	u.adds = append(u.adds, "#a"+k+" :n"+k)
}

// setValue SETs attr to v.
func (u *update) setValue(attr string, v types.AttributeValue) {
	k := strconv.Itoa(len(u.values))
	u.names["#s"+k], u.values[":s"+k] = attr, v
	u.sets = append(u.sets, "#s"+k+" = :s"+k)
}

func (u *update) expression() string {
	var parts []string
	if len(u.adds) > 0 {
		parts = append(parts, "ADD "+strings.Join(u.adds, ", "))
	}
	if len(u.sets) > 0 {
		parts = append(parts, "SET "+strings.Join(u.sets, ", "))
	}
	if len(u.remove) > 0 {
		parts = append(parts, "REMOVE "+strings.Join(u.remove, ", "))
	}
	return strings.Join(parts, " ")
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// addHour counts t into hour's slot, on the condition that the slot holds
// hour (or none yet, which hour becomes).
func addHour(u *update, hour int64, t stream.Tally) {
	p := slotPrefix(hour)
	c := tallyCounters(t)
	u.add(p+"d", c.D)
	u.add(p+"f", c.F)
	u.add(p+"p", c.P)
	u.add(p+"ls", c.LS)
	u.add(p+"lc", c.LC)
	u.add(p+"v", 1)
	u.names["#h"], u.values[":h"] = p+"at", number(hour)
	u.sets = append(u.sets, "#h = if_not_exists(#h, :h)")
	u.condition = "attribute_not_exists(#h) OR #h = :h"
}

// roll starts hour in its slot, which holds an earlier hour: it keeps
// that hour on the hours item, dropping those a week old, and returns the
// update that starts the slot with t's counts, conditional on the slot's
// hour and version as h read them.
func (s *Streams) roll(ctx context.Context, projectID, streamID string, h hourly, u *update, hour int64, t stream.Tally) error {
	sl := h.slotOf(hour)
	if err := s.keepHour(ctx, projectID, streamID, sl.At, sl.C, hour); err != nil {
		return err
	}
	p := slotPrefix(hour)
	c := tallyCounters(t)
	u.setValue(p+"d", number(c.D))
	u.setValue(p+"f", number(c.F))
	u.setValue(p+"p", number(c.P))
	u.setValue(p+"ls", number(c.LS))
	u.setValue(p+"lc", number(c.LC))
	u.setValue(p+"v", number(1))
	u.names["#h"], u.names["#sv"] = p+"at", p+"v"
	u.values[":h"], u.values[":was"], u.values[":sv"] = number(hour), number(sl.At), number(sl.V)
	u.sets = append(u.sets, "#h = :h")
	u.condition = "#h = :was AND " + unchanged("#sv", ":sv", sl.V)
	return nil
}

// keepHour SETs a finished hour's counts on the hours item (again, if a
// roll retries: the same attribute, overwritten) and REMOVEs the hours a
// week older than now, as a read of the item names them.
func (s *Streams) keepHour(ctx context.Context, projectID, streamID string, at int64, c hourCounters, now int64) error {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: hoursKey(projectID, streamID),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("get kept hours of stream %s: %w", streamID, err)
	}
	kept, err := decodeKept(out.Item)
	if err != nil {
		return fmt.Errorf("decode kept hours of stream %s: %w", streamID, err)
	}
	u := &update{names: map[string]string{}, values: map[string]types.AttributeValue{}}
	if !c.zero() && at > now-stream.HourlyHours {
		v, _ := attributevalue.MarshalMap(c)
		u.setValue(hourAttrStart+strconv.FormatInt(at, 10), &types.AttributeValueMemberM{Value: v})
	}
	for n := range kept {
		if n <= now-stream.HourlyHours {
			k := "#r" + strconv.Itoa(len(u.names))
			u.names[k] = hourAttrStart + strconv.FormatInt(n, 10)
			u.remove = append(u.remove, k)
		}
	}
	if len(u.sets) == 0 && len(u.remove) == 0 {
		return nil
	}
	if _, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: hoursKey(projectID, streamID),
		UpdateExpression: aws.String(u.expression()), ExpressionAttributeNames: u.names,
		ExpressionAttributeValues: nilIfEmpty(u.values),
	}); err != nil {
		return fmt.Errorf("keep hour %d of stream %s: %w", at, streamID, err)
	}
	return nil
}

// nilIfEmpty is values, or nil when there are none (DynamoDB refuses an
// empty ExpressionAttributeValues).
func nilIfEmpty(values map[string]types.AttributeValue) map[string]types.AttributeValue {
	if len(values) == 0 {
		return nil
	}
	return values
}

// unchanged is the condition that a version attribute still is v (or
// still absent, when v is 0).
func unchanged(name, value string, v int64) string {
	if v == 0 {
		return "(attribute_not_exists(" + name + ") OR " + name + " = " + value + ")"
	}
	return name + " = " + value
}

// readHourly reads a stream's slots, strongly consistent: what a roll
// starts from.
func (s *Streams) readHourly(ctx context.Context, projectID, streamID string) (hourly, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: healthKey(projectID, streamID),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return hourly{}, fmt.Errorf("get hours of stream %s: %w", streamID, err)
	}
	slots, err := decodeSlots(out.Item)
	if err != nil {
		return hourly{}, fmt.Errorf("decode hours of stream %s: %w", streamID, err)
	}
	return hourly{Slots: slots}, nil
}

// readKept reads a stream's kept hours.
func (s *Streams) readKept(ctx context.Context, projectID, streamID string) (map[int64]hourCounters, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: hoursKey(projectID, streamID)})
	if err != nil {
		return nil, fmt.Errorf("get kept hours of stream %s: %w", streamID, err)
	}
	kept, err := decodeKept(out.Item)
	if err != nil {
		return nil, fmt.Errorf("decode kept hours of stream %s: %w", streamID, err)
	}
	return kept, nil
}
