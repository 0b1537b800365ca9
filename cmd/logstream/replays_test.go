package main

import (
	"fmt"
	"strings"
	"testing"
)

const (
	replayID      = "rpl_0190c0ffee0000000000000000000007"
	replaysPath   = "/v1/projects/demo/replays"
	replayJobPath = replaysPath + "/" + replayID
	replayPost    = streamsPath + "/" + streamID + "/replay"
	windowBody    = `"since":"2026-03-01T00:00:00Z","until":"2026-03-01T06:00:00Z"`

	dryRunJSON = `{"dry_run":true,"project_id":"demo","stream_id":"` + streamID + `","since":"2026-03-01T00:30:00Z","until":"2026-03-01T06:00:00Z",` +
		`"rate":1000,"size":{"partitions":6,"objects":12,"events":5000,"bytes":2097152,"stored_bytes":300000,"exact":false},"estimated_seconds":5}`
	exactDryRunJSON = `{"dry_run":true,"project_id":"demo","stream_id":"` + streamID + `","since":"2026-03-01T00:00:00Z","until":"2026-03-01T06:00:00Z",` +
		`"rate":200,"size":{"partitions":6,"objects":12,"events":5000,"bytes":900,"stored_bytes":0,"exact":true},"estimated_seconds":25}`
)

// rjob is a replay job's JSON in state, having read hoursDone of 6 hours
// and events of its 5000, of which sent were sent and filtered left out.
func rjob(state string, hoursDone, events, sent, filtered int, extra string) string {
	return fmt.Sprintf(`{"id":%q,"project_id":"demo","stream_id":%q,"origin":"replay","since":"2026-03-01T00:00:00Z","until":"2026-03-01T06:00:00Z",`+
		`"rate":1000,"state":%q,"size":{"partitions":6,"objects":12,"events":5000,"bytes":2097152,"stored_bytes":300000,"exact":true},`+
		`"progress":{"hours":6,"hours_done":%d,"objects":%d,"events":%d,"sent":%d,"filtered":%d,"total":5000},`+
		`"not_before":"2026-03-01T06:05:00Z","created_at":"2026-03-02T08:00:00Z","updated_at":"2026-03-02T08:00:01Z"%s}`,
		replayID, streamID, state, hoursDone, 2*hoursDone, events, sent, filtered, extra)
}

const (
	replayEnded  = `,"started_at":"2026-03-02T08:00:00.5Z","ended_at":"2026-03-02T08:10:00Z"`
	replayFailed = replayEnded + `,"error":"the delivery queue is unreachable"`
)

func TestReplayCommands(t *testing.T) {
	jsonCT := map[string]string{"Content-Type": "application/json"}
	waiting := rjob("queued", 0, 0, 0, 0, "")
	// A queued job last updated before its not_before waits for the archive.
	settling := strings.Replace(waiting, `"updated_at":"2026-03-02T08:00:01Z"`, `"updated_at":"2026-03-01T06:01:00Z"`, 1)
	backfill := strings.Replace(strings.Replace(waiting, `"origin":"replay"`, `"origin":"start_from"`, 1),
		`"until":"2026-03-01T06:00:00Z"`, `"until":"0001-01-01T00:00:00Z"`, 1)
	created := strings.TrimSuffix(streamJSON, "}") + `,"backfill":` + backfill + `}`
	createBody := `{"name":"x","destination_type":"http","destination_config":{"endpoint":"https://x.example.com"},"start_from":"2026-03-01T00:00:00Z"}`
	runJobCases(t, []jobCase{
		// streams replay
		{name: "replay starts and prints the job", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--until", "2026-03-01T06:00:00Z"},
			calls: []exchange{{method: "POST", path: replayPost, header: jsonCT, absent: []string{"Idempotency-Key"}, body: `{` + windowBody + `}`,
				status: 202, answer: waiting}},
			stdout: []string{"JOB", replayID, "STREAM", streamID, "ORIGIN", "replay", "STATE", "queued",
				"WINDOW", "from 2026-03-01T00:00:00Z to 2026-03-01T06:00:00Z", "RATE", "1000 events/s", "SIZE", "5000 events in 6 hours",
				"HOURS", "0/6 read", "EVENTS", "0 read of 5000: 0 sent, 0 filtered, 0 duplicates", "NOT BEFORE", "2026-03-01T06:05:00Z"},
			stderr: []string{"replay " + replayID + " queued; 'logstream replays get " + replayID + " --wait' follows it"}},
		{name: "replay with filters, rate and key, json", stdin: `{"include":[{"field":"eventType","match":"user.*"}]}`,
			args: []string{"streams", "replay", streamID, "--since", "2026-03-01T01:00:00+01:00", "--filters", "-", "--rate", "200",
				"--idempotency-key", "incident-42", "--output", "json"},
			calls: []exchange{{method: "POST", path: replayPost, header: map[string]string{"Idempotency-Key": "incident-42"},
				body:   `{"since":"2026-03-01T01:00:00+01:00","filter":{"include":[{"field":"eventType","match":"user.*"}]},"rate":200}`,
				status: 202, answer: waiting}},
			exact: ptr(waiting + "\n")},
		{name: "replay with a preset", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--preset", "okta.sign-in"},
			calls: []exchange{ok("GET", "/v1/filter-presets/okta.sign-in", presetJSON),
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z","filter":{"include":[{"field":"eventType","match":"user.session.*"}]}}`,
					status: 202, answer: waiting}},
			stdout: []string{replayID}},
		{name: "replay with a used idempotency key", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--idempotency-key", "incident-42"},
			calls: []exchange{{method: "POST", path: replayPost, header: map[string]string{"Idempotency-Key": "incident-42"},
				body: `{"since":"2026-03-01T00:00:00Z"}`, status: 200, answer: rjob("running", 2, 1500, 1400, 100, "")}},
			stdout: []string{"STATE", "running", "EVENTS", "1500 read of 5000: 1400 sent, 100 filtered"},
			stderr: []string{"idempotency key was used before: this is replay " + replayID}},

		// dry run
		{name: "dry run of a window that cuts hours", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:30:00Z", "--dry-run"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:30:00Z","dry_run":true}`, status: 200, answer: dryRunJSON}},
			exact: ptr("STREAM          " + streamID + "\n" +
				"WINDOW          from 2026-03-01T00:30:00Z to 2026-03-01T06:00:00Z\n" +
				"EVENTS          at most 5000\n" +
				"BYTES           at most 2097152 (2.0 MiB) as NDJSON\n" +
				"STORED BYTES    at most 300000 (293.0 KiB) compressed in the archive\n" +
				"PARTITIONS      6 hours, 12 objects\n" +
				"RATE            1000 events/s\n" +
				"ESTIMATED TIME  at most 5s at that rate\n")},
		{name: "dry run of whole hours", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--until", "2026-03-01T06:00:00Z", "--rate", "200", "--dry-run"},
			calls:  []exchange{{method: "POST", path: replayPost, body: `{` + windowBody + `,"rate":200,"dry_run":true}`, status: 200, answer: exactDryRunJSON}},
			stdout: []string{"EVENTS", "5000\n", "BYTES", "900 as NDJSON", "STORED BYTES", "0 compressed", "RATE", "200 events/s", "ESTIMATED TIME", "25s at that rate"}},
		{name: "dry run json", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:30:00Z", "--dry-run", "-o", "json"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:30:00Z","dry_run":true}`, status: 200, answer: dryRunJSON}},
			exact: ptr(dryRunJSON + "\n")},

		// --wait
		{name: "replay waits to success", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait"},
			calls: []exchange{
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 202, answer: waiting},
				ok("GET", replayJobPath, rjob("running", 2, 1500, 1400, 100, "")),
				ok("GET", replayJobPath, rjob("running", 2, 1500, 1400, 100, "")),
				ok("GET", replayJobPath, rjob("succeeded", 6, 4800, 4700, 100, replayEnded)),
			},
			sleeps: 3,
			stdout: []string{"STATE", "succeeded", "HOURS", "6/6 read", "EVENTS", "4800 read of 5000: 4700 sent, 100 filtered", "ENDED", "2026-03-02T08:10:00Z"},
			stderr: []string{"replay " + replayID + " started; 'logstream replays get " + replayID + "' shows it",
				"replay queued: 0 sent of 5000 events, 0/6 hours\n",
				"replay running: 1400 sent, 100 filtered of 5000 events, 2/6 hours\n",
				"replay succeeded: 4700 sent, 100 filtered of 5000 events, 6/6 hours\n"}},
		{name: "replay draws a bar on a terminal", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait"}, terminal: true,
			calls: []exchange{
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 202, answer: rjob("running", 3, 2500, 2500, 0, "")},
				ok("GET", replayJobPath, rjob("succeeded", 6, 4800, 4800, 0, replayEnded)),
			},
			sleeps: 1,
			stdout: []string{"succeeded"},
			stderr: []string{"\r\x1b[K[" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "] replay running: 2500 sent of 5000 events, 3/6 hours",
				// The total is the index's upper bound: a replay that
				// succeeded is drawn full.
				"\r\x1b[K[" + strings.Repeat("#", 30) + "] replay succeeded: 4800 sent of 5000 events, 6/6 hours\n"}},
		{name: "replay waits for the archive", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait", "-o", "json"},
			calls: []exchange{
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 202, answer: settling},
				ok("GET", replayJobPath, rjob("succeeded", 6, 5000, 5000, 0, replayEnded)),
			},
			sleeps: 1,
			exact:  ptr(rjob("succeeded", 6, 5000, 5000, 0, replayEnded) + "\n"),
			stderr: []string{"replay queued: 0 sent of 5000 events, 0/6 hours (starts once the archive holds the window, at 2026-03-01T06:05:00Z)\n"}},
		{name: "replay that fails exits 1", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait"},
			calls: []exchange{
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 202, answer: waiting},
				ok("GET", replayJobPath, rjob("failed", 1, 700, 700, 0, replayFailed)),
			},
			sleeps: 1, code: 1,
			stdout: []string{"STATE", "failed", "ERROR", "the delivery queue is unreachable"},
			stderr: []string{"replay failed: 700 sent of 5000 events, 1/6 hours", "error: the job failed: the delivery queue is unreachable"}},
		{name: "replay cancelled while waited for exits 1", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait"},
			calls: []exchange{
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 202, answer: waiting},
				ok("GET", replayJobPath, rjob("running", 1, 700, 700, 0, `,"cancel_requested":true`)),
				ok("GET", replayJobPath, rjob("cancelled", 1, 1000, 1000, 0, replayEnded)),
			},
			sleeps: 2, code: 1,
			stdout: []string{"STATE", "cancelled"},
			stderr: []string{"replay running: 700 sent of 5000 events, 1/6 hours (cancel requested)\n",
				"replay cancelled: 1000 sent of 5000 events, 1/6 hours\n", "error: the replay was cancelled\n"}},
		{name: "replay wait gives up after failed polls", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait"},
			calls: []exchange{
				{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 202, answer: waiting},
				{method: "GET", path: replayJobPath, status: 503, answer: `{"message":"Service Unavailable"}`},
				{method: "GET", path: replayJobPath, status: 429, answer: `{"message":"Too Many Requests"}`},
				{method: "GET", path: replayJobPath, status: 502, answer: `{"message":"Bad Gateway"}`},
			},
			sleeps: 3, code: 1, stderr: []string{"error: http_502", "hint: the job goes on without the CLI: 'logstream replays get " + replayID + "'"}},

		// the API's refusals, with what to do next
		{name: "too many replays", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--wait"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 429,
				answer: apiErr("too_many_replays", "the project runs as many replays as it may at once; wait for one to end, or cancel one", "")}},
			code: 1, stderr: []string{"error: too_many_replays: the project runs as many replays", "hint: 'logstream replays list'", "'logstream replays cancel JOB_ID'"}},
		{name: "stream not active", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 409,
				answer: apiErr("stream_not_active", "replays go to active streams only; enable the stream first", "")}},
			code: 1, stderr: []string{"error: stream_not_active", "hint: 'logstream streams enable " + streamID + "'"}},
		{name: "idempotency key reused", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--idempotency-key", "k1"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 422,
				answer: apiErr("idempotency_key_reused", "this Idempotency-Key started a replay with another stream", "Idempotency-Key")}},
			code: 1, stderr: []string{"error: idempotency_key_reused", "(field: Idempotency-Key)", "hint: a new replay needs a new --idempotency-key"}},
		{name: "window older than the archive", args: []string{"streams", "replay", streamID, "--since", "2020-01-01T00:00:00Z", "--dry-run"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2020-01-01T00:00:00Z","dry_run":true}`, status: 400,
				answer: apiErr("invalid_request", "since is older than the archive keeps events", "since")}},
			code: 1, stderr: []string{"error: invalid_request: since is older than the archive keeps events (field: since)\n"}},
		{name: "replay unavailable", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z"},
			calls: []exchange{{method: "POST", path: replayPost, body: `{"since":"2026-03-01T00:00:00Z"}`, status: 503,
				answer: apiErr("replay_unavailable", "replay is not configured", "")}},
			code: 1, stderr: []string{"error: replay_unavailable", "hint: this deployment has no event archive"}},

		// usage errors: exit 2, nothing sent
		{name: "replay without since", args: []string{"streams", "replay", streamID}, code: 2, stderr: []string{"--since is required", "usage: logstream streams replay"}},
		{name: "replay since not a time", args: []string{"streams", "replay", streamID, "--since", "-2h"}, code: 2, stderr: []string{"--since must be an RFC 3339 time"}},
		{name: "replay until not a time", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--until", "now"},
			code: 2, stderr: []string{"--until must be an RFC 3339 time"}},
		{name: "replay since after until", args: []string{"streams", "replay", streamID, "--since", "2026-03-02T00:00:00Z", "--until", "2026-03-01T00:00:00Z"},
			code: 2, stderr: []string{"--since must be before --until"}},
		{name: "replay rate too high", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--rate", "50001"},
			code: 2, stderr: []string{"--rate must be from 1 to 50000"}},
		{name: "replay dry run and wait", args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--dry-run", "--wait"},
			code: 2, stderr: []string{"--dry-run starts nothing for --wait"}},
		{name: "replay filters and preset", stdin: `{}`, args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--filters", "-", "--preset", "okta.sign-in"},
			code: 2, stderr: []string{"--filters and --preset"}},
		{name: "replay filters not JSON", stdin: `{"include":`, args: []string{"streams", "replay", streamID, "--since", "2026-03-01T00:00:00Z", "--filters", "-"},
			code: 2, stderr: []string{"--filters: stdin is not valid JSON"}},
		{name: "replay without stream", args: []string{"streams", "replay", "--since", "2026-03-01T00:00:00Z"}, code: 2, stderr: []string{"takes ID, got 0"}},

		// replays list
		{name: "replays list", args: []string{"replays", "list"},
			calls: []exchange{ok("GET", replaysPath, `{"data":[`+rjob("running", 2, 1500, 1400, 100, "")+`,`+backfill+`]}`)},
			stdout: []string{"ID", "STREAM", "ORIGIN", "STATE", "SENT", "FILTERED", "TOTAL", "HOURS", "SINCE", "UNTIL", "CREATED",
				replayID, streamID, "replay", "running", "1400", "100", "5000", "2/6", "2026-03-01T00:00:00Z", "2026-03-01T06:00:00Z",
				replayID, "start_from", "queued", "0/6", "2026-03-01T00:00:00Z  -  "}},
		{name: "replays list json with a limit", args: []string{"replays", "list", "--limit", "5", "--output", "json"},
			calls: []exchange{{method: "GET", path: replaysPath, query: "limit=5", status: 200, answer: `{"data":[]}`}},
			exact: ptr(`{"data":[]}` + "\n")},
		{name: "replays list empty", args: []string{"replays", "list"},
			calls: []exchange{ok("GET", replaysPath, `{"data":[]}`)},
			exact: ptr("ID  STREAM  ORIGIN  STATE  SENT  FILTERED  TOTAL  HOURS  SINCE  UNTIL  CREATED\n")},
		{name: "replays list bad limit", args: []string{"replays", "list", "--limit", "101"}, code: 2, stderr: []string{"--limit must be from 1 to 100"}},

		// replays get
		{name: "replays get", args: []string{"replays", "get", replayID},
			calls:  []exchange{ok("GET", replayJobPath, rjob("failed", 1, 700, 700, 0, replayFailed))},
			stdout: []string{"JOB", replayID, "STATE", "failed", "ERROR", "the delivery queue is unreachable"}},
		{name: "replays get a backfill", args: []string{"replays", "get", replayID},
			calls:  []exchange{ok("GET", replayJobPath, backfill)},
			stdout: []string{"ORIGIN", "start_from (the backfill of a new stream)", "WINDOW", "from 2026-03-01T00:00:00Z, until the stream is enabled"}},
		{name: "replays get json", args: []string{"replays", "get", replayID, "-o", "json"},
			calls: []exchange{ok("GET", replayJobPath, waiting)},
			exact: ptr(waiting + "\n")},
		{name: "replays get wait of an ended replay", args: []string{"replays", "get", replayID, "--wait"},
			calls:  []exchange{ok("GET", replayJobPath, rjob("succeeded", 6, 5000, 5000, 0, replayEnded))},
			stdout: []string{"STATE", "succeeded"}},
		{name: "replays get wait to cancelled", args: []string{"replays", "get", replayID, "--wait"},
			calls: []exchange{
				ok("GET", replayJobPath, rjob("running", 1, 700, 700, 0, "")),
				ok("GET", replayJobPath, rjob("cancelled", 1, 700, 700, 0, replayEnded)),
			},
			sleeps: 1, code: 1, stdout: []string{"STATE", "cancelled"}, stderr: []string{"error: the replay was cancelled"}},
		{name: "replays get unknown", args: []string{"replays", "get", "rpl_nope"},
			calls: []exchange{{method: "GET", path: replaysPath + "/rpl_nope", status: 404, answer: apiErr("not_found", "replay job not found", "")}},
			code:  1, stderr: []string{"error: not_found: replay job not found"}},

		// replays cancel
		{name: "cancel a running replay", args: []string{"replays", "cancel", replayID},
			calls: []exchange{{method: "POST", path: replayJobPath + "/cancel", absent: []string{"Content-Type"},
				status: 200, answer: rjob("running", 1, 700, 700, 0, `,"cancel_requested":true`)}},
			stdout: []string{"STATE", "running (cancel requested)"},
			stderr: []string{"note: replay " + replayID + " stops after the batch it is sending"}},
		{name: "cancel a queued replay json", args: []string{"replays", "cancel", replayID, "--output", "json"},
			calls: []exchange{{method: "POST", path: replayJobPath + "/cancel", status: 200, answer: rjob("cancelled", 0, 0, 0, 0, replayEnded)}},
			exact: ptr(rjob("cancelled", 0, 0, 0, 0, replayEnded) + "\n")},
		{name: "cancel an ended replay", args: []string{"replays", "cancel", replayID},
			calls: []exchange{{method: "POST", path: replayJobPath + "/cancel", status: 409,
				answer: apiErr("replay_ended", "the replay has ended; there is nothing to cancel", "")}},
			code: 1, stderr: []string{"error: replay_ended: the replay has ended"}},
		{name: "replays alone", args: []string{"replays"}, code: 2, stderr: []string{"replays list", "replays get", "replays cancel"}},

		// streams create --start-from
		{name: "create with start-from names the backfill", stdin: `{"endpoint":"https://x.example.com"}`,
			args:  []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--start-from", "2026-03-01T00:00:00Z"},
			calls: []exchange{{method: "POST", path: streamsPath, header: jsonCT, body: createBody, status: 201, answer: created}},
			stdout: []string{streamID, "SIEM", "backfill: replay " + replayID + " queued, from 2026-03-01T00:00:00Z, until the stream is enabled; " +
				"'logstream replays get " + replayID + " --wait' follows it\n"}},
		{name: "create with start-from json", stdin: `{"endpoint":"https://x.example.com"}`,
			args:  []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--start-from", "2026-03-01T00:00:00Z", "-o", "json"},
			calls: []exchange{{method: "POST", path: streamsPath, body: createBody, status: 201, answer: created}},
			exact: ptr(created + "\n")},
		{name: "create with start-from answered without a backfill", stdin: `{"endpoint":"https://x.example.com"}`,
			args:   []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--start-from", "2026-03-01T00:00:00Z"},
			calls:  []exchange{{method: "POST", path: streamsPath, body: createBody, status: 201, answer: streamJSON}},
			stdout: []string{streamID}, stderr: []string{"note: the API answered no backfill"}},
		{name: "create with start-from older than the archive", stdin: `{"endpoint":"https://x.example.com"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--start-from", "2026-03-01T00:00:00Z"},
			calls: []exchange{{method: "POST", path: streamsPath, body: createBody, status: 400,
				answer: apiErr("invalid_request", "start_from is older than the archive keeps events", "start_from")}},
			code: 1, stderr: []string{"(field: start_from)"}},
		{name: "create with start-from not a time", stdin: `{"endpoint":"https://x.example.com"}`,
			args: []string{"streams", "create", "--name", "x", "--type", "http", "--config", "-", "--start-from", "yesterday"},
			code: 2, stderr: []string{"--start-from must be an RFC 3339 time"}},
	})
}
