package eventarchive

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/logstream/logstream/shared/stream"
)

// Root is the prefix of every archive object.
const Root = "events/"

// ContentType and ContentEncoding are every archive object's: NDJSON,
// gzip-compressed (stored compressed, not decoded by clients in transit).
const (
	ContentType     = "application/x-ndjson"
	ContentEncoding = "gzip"
	suffix          = ".ndjson.gz"
)

// Object is one archive object, as its key and its listing describe it.
type Object struct {
	Key       string
	ProjectID string
	// Hour is the start of the hour (UTC) every event in it has its
	// timestamp in.
	Hour time.Time
	// Events and Bytes are how many events it holds and their bytes as
	// NDJSON before compression, from its name.
	Events int
	Bytes  int64
	// Size is its stored (compressed) size, from the listing; 0 where the
	// key alone was parsed.
	Size int64
}

// HourPrefix is the prefix of a project's partition for the hour holding t.
func HourPrefix(projectID string, t time.Time) string {
	h := t.UTC()
	return fmt.Sprintf("%sproject=%s/date=%s/hour=%02d/", Root, projectID, h.Format(time.DateOnly), h.Hour())
}

// ProjectPrefix is the prefix of all of a project's partitions: nothing
// else's key starts with it (project ids cannot hold '/').
func ProjectPrefix(projectID string) string { return Root + "project=" + projectID + "/" }

// Key names an object of a project's partition for hour, written at
// written, with a random id to keep concurrent writers apart; keys of one
// partition sort by the time they were written.
func Key(projectID string, hour, written time.Time, random string, events int, bytes int64) string {
	return fmt.Sprintf("%s%013d-%s.n%d.b%d%s", HourPrefix(projectID, hour), written.UnixMilli(), random, events, bytes, suffix)
}

// ErrNotArchiveKey is returned by ParseKey for a key not in the archive's
// layout (an object put there by hand, say); listings skip them.
var ErrNotArchiveKey = errors.New("eventarchive: not an archive object key")

// ParseKey reads an object's project, hour, event count and bytes from its
// key.
func ParseKey(key string) (Object, error) {
	rest, ok := strings.CutPrefix(key, Root+"project=")
	if !ok {
		return Object{}, ErrNotArchiveKey
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || !stream.ValidProjectID(parts[0]) {
		return Object{}, ErrNotArchiveKey
	}
	date, ok1 := strings.CutPrefix(parts[1], "date=")
	hh, ok2 := strings.CutPrefix(parts[2], "hour=")
	name, ok3 := strings.CutSuffix(parts[3], suffix)
	if !ok1 || !ok2 || !ok3 || len(hh) != 2 {
		return Object{}, ErrNotArchiveKey
	}
	day, err := time.Parse(time.DateOnly, date)
	h, herr := strconv.Atoi(hh)
	if err != nil || herr != nil || h < 0 || h > 23 {
		return Object{}, ErrNotArchiveKey
	}
	// <ms>-<random>.n<events>.b<bytes>
	fields := strings.Split(name, ".")
	if len(fields) != 3 || !strings.HasPrefix(fields[1], "n") || !strings.HasPrefix(fields[2], "b") {
		return Object{}, ErrNotArchiveKey
	}
	n, nerr := strconv.Atoi(fields[1][1:])
	b, berr := strconv.ParseInt(fields[2][1:], 10, 64)
	if nerr != nil || berr != nil || n < 0 || b < 0 {
		return Object{}, ErrNotArchiveKey
	}
	return Object{Key: key, ProjectID: parts[0], Hour: day.Add(time.Duration(h) * time.Hour), Events: n, Bytes: b}, nil
}

// Hours are the starts of the hours (UTC) a window [since, until) touches,
// in order.
func Hours(since, until time.Time) []time.Time {
	var out []time.Time
	for h := since.UTC().Truncate(time.Hour); h.Before(until); h = h.Add(time.Hour) {
		out = append(out, h)
	}
	return out
}
