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

// A stream's counts per hour live on its health item, beside the totals,
// so one UpdateItem writes both (Record). Two slots hold the hours being
// counted, one for even hours (prefix ha_) and one for odd ones (hb_), so
// the writes of one hour never touch the slot the next hour starts in:
//   - <slot>at: the slot's hour, as hours since the Unix epoch;
//   - <slot>d, <slot>f, <slot>p, <slot>ls, <slot>lc: its delivered events,
//     failed attempts, parked events, lag sum (ms) and the events the lag
//     sum counts;
//   - <slot>v: how many writes the slot took since its hour began;
//   - hours: the finished hours kept, a map from an hour's number to a map
//     of the same five counts, at most stream.HourlyHours of them (a week:
//     ~10 KB at most, far within an item's 400 KB); hours_v counts its
//     rewrites.
//
// A write ADDs to its hour's slot, on the condition that the slot holds
// that hour (or none yet). The first write of an hour finds the slot
// holding the hour before last: it reads the item and, in one update
// conditional on nothing having changed the slot or the kept hours since,
// moves that hour into hours, drops those older than a week, and starts the
// slot with its own counts. Writers of the previous hour use the other
// slot, so only the first writers of an hour contend, once.
const (
	attrHours        = "hours"
	attrHoursVersion = "hours_v"
)

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

// hourly is what a health item holds of its hours.
type hourly struct {
	Slots    [2]slot // ha_, hb_
	Hours    map[string]hourCounters
	HoursVer int64
}

// decodeHourly reads the hours of a health item.
func decodeHourly(item map[string]types.AttributeValue) (hourly, error) {
	var raw struct {
		Hours    map[string]hourCounters `dynamodbav:"hours"`
		HoursVer int64                   `dynamodbav:"hours_v"`
	}
	if err := attributevalue.UnmarshalMap(item, &raw); err != nil {
		return hourly{}, err
	}
	h := hourly{Hours: raw.Hours, HoursVer: raw.HoursVer}
	for i, p := range []string{"ha_", "hb_"} {
		n := func(name string) (int64, error) {
			v, ok := item[p+name].(*types.AttributeValueMemberN)
			if !ok {
				return 0, nil
			}
			return strconv.ParseInt(v.Value, 10, 64)
		}
		var err error
		s := &h.Slots[i]
		for _, f := range []struct {
			name string
			to   *int64
		}{{"at", &s.At}, {"d", &s.C.D}, {"f", &s.C.F}, {"p", &s.C.P}, {"ls", &s.C.LS}, {"lc", &s.C.LC}, {"v", &s.V}} {
			if *f.to, err = n(f.name); err != nil {
				return hourly{}, fmt.Errorf("attribute %s%s: %w", p, f.name, err)
			}
		}
	}
	return h, nil
}

// slotOf is the slot that counts hour.
func (h *hourly) slotOf(hour int64) *slot { return &h.Slots[hour%2] }

// counts are the item's hours, oldest first: the kept ones and both slots'.
func (h hourly) counts() []stream.HourCount {
	all := maps.Clone(h.Hours)
	if all == nil {
		all = map[string]hourCounters{}
	}
	for _, s := range h.Slots {
		if s.At > 0 && !s.C.zero() {
			all[strconv.FormatInt(s.At, 10)] = s.C
		}
	}
	out := make([]stream.HourCount, 0, len(all))
	for k, c := range all {
		n, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			continue // not a key Record writes
		}
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

// roll starts hour in its slot, which holds an earlier hour: that hour
// joins the kept ones, those a week old go, and t's counts are the new
// hour's first; on the condition that nothing wrote the slot or the kept
// hours since h was read (the slot's and the kept hours' versions), so a
// roll never undoes another write.
func (h hourly) roll(u *update, hour int64, t stream.Tally) {
	s := h.slotOf(hour)
	kept := map[string]types.AttributeValue{}
	keep := func(at int64, c hourCounters) {
		if c.zero() || at <= hour-stream.HourlyHours || at >= hour {
			return
		}
		v, _ := attributevalue.MarshalMap(c)
		kept[strconv.FormatInt(at, 10)] = &types.AttributeValueMemberM{Value: v}
	}
	for k, c := range h.Hours {
		if n, err := strconv.ParseInt(k, 10, 64); err == nil {
			keep(n, c)
		}
	}
	keep(s.At, s.C)
	p := slotPrefix(hour)
	c := tallyCounters(t)
	u.setValue(attrHours, &types.AttributeValueMemberM{Value: kept})
	u.setValue(attrHoursVersion, number(h.HoursVer+1))
	u.setValue(p+"d", number(c.D))
	u.setValue(p+"f", number(c.F))
	u.setValue(p+"p", number(c.P))
	u.setValue(p+"ls", number(c.LS))
	u.setValue(p+"lc", number(c.LC))
	u.setValue(p+"v", number(1))
	u.names["#h"], u.names["#sv"], u.names["#hv"] = p+"at", p+"v", attrHoursVersion
	u.values[":h"], u.values[":was"], u.values[":sv"], u.values[":hv"] = number(hour), number(s.At), number(s.V), number(h.HoursVer)
	u.sets = append(u.sets, "#h = :h")
	u.condition = "#h = :was AND " + unchanged("#sv", ":sv", s.V) + " AND " + unchanged("#hv", ":hv", h.HoursVer)
}

// unchanged is the condition that a version attribute still is v (or
// still absent, when v is 0).
func unchanged(name, value string, v int64) string {
	if v == 0 {
		return "(attribute_not_exists(" + name + ") OR " + name + " = " + value + ")"
	}
	return name + " = " + value
}

// readHourly reads a stream's hours, strongly consistent: what a roll
// starts from.
func (s *Streams) readHourly(ctx context.Context, projectID, streamID string) (hourly, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: healthKey(projectID, streamID),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return hourly{}, fmt.Errorf("get hours of stream %s: %w", streamID, err)
	}
	h, err := decodeHourly(out.Item)
	if err != nil {
		return hourly{}, fmt.Errorf("decode hours of stream %s: %w", streamID, err)
	}
	return h, nil
}
