package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

const (
	dlqPath = "/v1/projects/demo/dead-letters"
	jobID   = "job_0190c0ffee0000000000000000000009"
	jobPath = dlqPath + "/jobs/" + jobID

	summaryJSON = `{"project_id":"demo","events":240,"letters":3,` +
		`"reasons":[{"reason":"exhausted","events":228,"letters":2,"oldest_at":"2026-03-01T10:00:00.5Z","newest_at":"2026-03-01T11:00:00Z"},` +
		`{"reason":"permanent","events":12,"letters":1,"oldest_at":"2026-03-01T09:00:00Z","newest_at":"2026-03-01T09:00:00Z"}],` +
		`"age":{"under_1h":0,"1h_to_24h":200,"1d_to_7d":40,"over_7d":0},"expiring_within_24h":5,"expired_events":7,"retention_days":14,` +
		`"streams":[{"stream_id":"` + streamID + `","destination_type":"http","events":240,"letters":3,` +
		`"reasons":[{"reason":"exhausted","events":228,"letters":2,"oldest_at":"2026-03-01T10:00:00Z","newest_at":"2026-03-01T11:00:00Z"},` +
		`{"reason":"permanent","events":12,"letters":1,"oldest_at":"2026-03-01T09:00:00Z","newest_at":"2026-03-01T09:00:00Z"}],"expired_events":7}]}`
	emptySummaryJSON = `{"project_id":"demo","events":0,"letters":0,"reasons":[],"age":{"under_1h":0,"1h_to_24h":0,"1d_to_7d":0,"over_7d":0},` +
		`"expiring_within_24h":0,"expired_events":0,"retention_days":14,"streams":[]}`
	peeked1 = `{"letter_id":"dl_1","stream_id":"` + streamID + `","destination_type":"http","reason":"gone","error":"endpoint answered 410",` +
		`"receive_count":1,"parked_at":"2026-03-01T10:00:00Z","expires_at":"2026-03-15T10:00:00Z","event":{"event_id":"evt_1","type":"user.login"}}`
	peeked2 = `{"letter_id":"dl_2","stream_id":"` + streamID + `","destination_type":"http","reason":"exhausted","error":"exhausted receives, no reason recorded\tand more",` +
		`"receive_count":5,"parked_at":"2026-03-01T11:00:00Z","expires_at":"2026-03-15T11:00:00Z","event":{"event_id":"evt_2"}}`
)

// job is a job's JSON in state with progress done of total.
func job(kind, state string, dryRun bool, events, done, total int, extra string) string {
	dry := "false"
	if dryRun {
		dry = "true"
	}
	return `{"id":"` + jobID + `","project_id":"demo","kind":"` + kind + `","filter":{"stream_id":"` + streamID + `","reasons":["exhausted"]},` +
		`"dry_run":` + dry + `,"rate":1000,"state":"` + state + `","progress":{"letters":2,"events":` + itoa(events) + `,"done":` + itoa(done) +
		`,"total":` + itoa(total) + extra + `},"created_at":"2026-03-02T08:00:00Z","updated_at":"2026-03-02T08:00:01Z"` +
		map[bool]string{true: `,"started_at":"2026-03-02T08:00:00.5Z","ended_at":"2026-03-02T08:00:03Z"`, false: ""}[state == "succeeded" || state == "failed"] +
		map[bool]string{true: `,"error":"the delivery queue is unreachable"`, false: ""}[state == "failed"] + `}`
}

func TestDeadLetterCommands(t *testing.T) {
	jsonCT := map[string]string{"Content-Type": "application/json"}
	redriveBody := `{"filter":{"stream_id":"` + streamID + `","reasons":["exhausted","gone"],"parked_after":"2026-03-01T00:00:00Z","parked_before":"2026-03-02T00:00:00Z"},"dry_run":false}`
	runJobCases(t, []jobCase{
		// dlq summary
		{name: "summary table", args: []string{"dlq", "summary"},
			calls: []exchange{ok("GET", dlqPath, summaryJSON)},
			stdout: []string{"PROJECT", "demo", "EVENTS", "240", "LETTERS", "3", "under 1h 0, 1h to 24h 200, 1d to 7d 40, over 7d 0",
				"EXPIRING IN 24H", "5", "EXPIRED", "7", "RETENTION", "14 days",
				"REASON", "EVENTS", "LETTERS", "OLDEST", "NEWEST", "exhausted", "228", "2", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "permanent", "12",
				"STREAM", "TYPE", streamID, "http", "240", "3", "7", "exhausted 228, permanent 12"}},
		{name: "summary of a stream json", args: []string{"dlq", "summary", "--stream", streamID, "-output", "json"},
			calls: []exchange{{method: "GET", path: dlqPath, query: "stream_id=" + streamID, status: 200, answer: summaryJSON}},
			exact: ptr(summaryJSON + "\n")},
		{name: "summary empty", args: []string{"dlq", "summary"},
			calls:  []exchange{ok("GET", dlqPath, emptySummaryJSON)},
			exact:  ptr("PROJECT          demo\nEVENTS           0\nLETTERS          0\nPARKED           under 1h 0, 1h to 24h 0, 1d to 7d 0, over 7d 0\nEXPIRING IN 24H  0\nEXPIRED          0\nRETENTION        14 days\n"),
			stdout: nil},

		// dlq peek
		{name: "peek table", args: []string{"dlq", "peek"},
			calls: []exchange{ok("GET", dlqPath+"/events", `{"data":[`+peeked1+`,`+peeked2+`]}`)},
			stdout: []string{"EVENT ID", "STREAM", "REASON", "PARKED", "EXPIRES", "RECEIVES", "ERROR",
				"evt_1", streamID, "gone", "2026-03-01T10:00:00Z", "2026-03-15T10:00:00Z", "1", "endpoint answered 410",
				"evt_2", "exhausted", "5", "exhausted receives, no reason recorded and more"}},
		{name: "peek filters in the query", args: []string{"dlq", "peek", "--stream", streamID, "--reason", "exhausted,gone", "--reason", "permanent",
			"--after", "2026-03-01T00:00:00Z", "--before", "2026-03-02T00:00:00+01:00", "--event-id", "evt_1,evt_2", "--limit", "2", "--output", "json"},
			calls: []exchange{{method: "GET", path: dlqPath + "/events",
				query:  "event_ids=evt_1%2Cevt_2&limit=2&parked_after=2026-03-01T00%3A00%3A00Z&parked_before=2026-03-02T00%3A00%3A00%2B01%3A00&reason=exhausted%2Cgone%2Cpermanent&stream_id=" + streamID,
				status: 200, answer: `{"data":[` + peeked1 + `],"next_cursor":"c1"}`}},
			exact: ptr(`{"data":[` + peeked1 + `],"next_cursor":"c1"}` + "\n")},
		{name: "peek more pages note", args: []string{"dlq", "peek"},
			calls:  []exchange{ok("GET", dlqPath+"/events", `{"data":[`+peeked1+`],"next_cursor":"c1"}`)},
			stdout: []string{"evt_1"}, stderr: []string{"--all"}},
		{name: "peek all follows the cursor", args: []string{"dlq", "peek", "--all", "--limit", "1"},
			calls: []exchange{
				{method: "GET", path: dlqPath + "/events", query: "limit=1", status: 200, answer: `{"data":[` + peeked1 + `],"next_cursor":"c/1+"}`},
				{method: "GET", path: dlqPath + "/events", query: "cursor=c%2F1%2B&limit=1", status: 200, answer: `{"data":[` + peeked2 + `],"next_cursor":"c2"}`},
				{method: "GET", path: dlqPath + "/events", query: "cursor=c2&limit=1", status: 200, answer: `{"data":[]}`},
			},
			stdout: []string{"evt_1", "evt_2"}},
		{name: "peek all json joins the pages", args: []string{"dlq", "peek", "--all", "--output", "json"},
			calls: []exchange{
				ok("GET", dlqPath+"/events", `{"data":[`+peeked1+`],"next_cursor":"c1"}`),
				{method: "GET", path: dlqPath + "/events", query: "cursor=c1", status: 200, answer: `{"data":[` + peeked2 + `]}`},
			},
			exact: ptr(`{"data":[` + peeked1 + `,` + peeked2 + `]}` + "\n")},
		{name: "peek all stops on a repeated cursor", args: []string{"dlq", "peek", "--all"},
			calls: []exchange{
				ok("GET", dlqPath+"/events", `{"data":[],"next_cursor":"c1"}`),
				{method: "GET", path: dlqPath + "/events", query: "cursor=c1", status: 200, answer: `{"data":[],"next_cursor":"c1"}`},
			},
			code: 1, stderr: []string{"same next_cursor"}},
		{name: "peek bad cursor from the API", args: []string{"dlq", "peek"},
			calls: []exchange{{method: "GET", path: dlqPath + "/events", status: 400, answer: apiErr("invalid_request", "cursor is not one this API issued", "")}},
			code:  1, stderr: []string{"error: invalid_request: cursor is not one this API issued"}},

		// dlq redrive
		{name: "redrive waits with a line per change", args: []string{"dlq", "redrive", "--stream", streamID, "--reason", "exhausted,gone",
			"--after", "2026-03-01T00:00:00Z", "--before", "2026-03-02T00:00:00Z"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", header: jsonCT, absent: []string{"Idempotency-Key"}, body: redriveBody,
					status: 202, answer: job("redrive", "queued", false, 0, 0, 240, "")},
				ok("GET", jobPath, job("redrive", "running", false, 100, 100, 240, "")),
				ok("GET", jobPath, job("redrive", "running", false, 100, 100, 240, "")),
				ok("GET", jobPath, job("redrive", "running", false, 240, 228, 240, `,"skipped":{"stream_not_active":12}`)),
				ok("GET", jobPath, job("redrive", "succeeded", false, 240, 228, 240, `,"skipped":{"stream_not_active":12}`)),
			},
			sleeps: 4,
			stdout: []string{"JOB", jobID, "KIND", "redrive", "STATE", "succeeded", "FILTER", "stream " + streamID + "; reasons exhausted",
				"RATE", "1000 events/s", "MATCHED", "240 events in 2 letters (of 240)", "DONE", "228 events redriven", "SKIPPED", "stream_not_active 12",
				"ENDED", "2026-03-02T08:00:03Z"},
			stderr: []string{"redrive job " + jobID + " started",
				"redrive queued: 0/240 events\n",
				"redrive running: 100/240 events\n",
				"redrive running: 240/240 events (skipped stream_not_active 12)\n",
				"redrive succeeded: 240/240 events (skipped stream_not_active 12)\n"}},
		{name: "redrive draws a bar on a terminal", args: []string{"dlq", "redrive"}, terminal: true,
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{},"dry_run":false}`, status: 202, answer: job("redrive", "running", false, 120, 120, 240, "")},
				ok("GET", jobPath, job("redrive", "succeeded", false, 240, 240, 240, "")),
			},
			sleeps: 1,
			stdout: []string{"succeeded", "240 events redriven"},
			stderr: []string{"\r\x1b[K[" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "] redrive running: 120/240 events",
				"\r\x1b[K[" + strings.Repeat("#", 30) + "] redrive succeeded: 240/240 events\n"}},
		{name: "redrive json prints the final job", args: []string{"dlq", "redrive", "--event-id", "evt_1", "--event-id", "evt_2,evt_3", "--rate", "50", "--output", "json"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{"event_ids":["evt_1","evt_2","evt_3"]},"dry_run":false,"rate":50}`,
					status: 202, answer: job("redrive", "queued", false, 0, 0, 3, "")},
				ok("GET", jobPath, job("redrive", "succeeded", false, 3, 3, 3, "")),
			},
			sleeps: 1,
			exact:  ptr(job("redrive", "succeeded", false, 3, 3, 3, "") + "\n")},
		{name: "redrive failed job exits 1", args: []string{"dlq", "redrive", "--stream", streamID},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{"stream_id":"` + streamID + `"},"dry_run":false}`, status: 202, answer: job("redrive", "queued", false, 0, 0, 240, "")},
				ok("GET", jobPath, job("redrive", "running", false, 10, 10, 240, "")),
				ok("GET", jobPath, job("redrive", "failed", false, 10, 10, 240, "")),
			},
			sleeps: 2, code: 1,
			stdout: []string{"STATE", "failed", "ERROR", "the delivery queue is unreachable"},
			stderr: []string{"redrive failed: 10/240 events", "error: the job failed: the delivery queue is unreachable"}},
		{name: "redrive no-wait with an idempotency key", args: []string{"dlq", "redrive", "--dry-run", "--no-wait", "--idempotency-key", "rd-42"},
			calls: []exchange{{method: "POST", path: dlqPath + "/redrive", header: map[string]string{"Idempotency-Key": "rd-42"},
				body: `{"filter":{},"dry_run":true}`, status: 202, answer: job("redrive", "queued", true, 0, 0, 240, "")}},
			stdout: []string{"KIND", "redrive (dry run)", "STATE", "queued", "DONE", "nothing (dry run)"}},
		{name: "redrive with a used idempotency key", args: []string{"dlq", "redrive", "--idempotency-key", "rd-42", "--output", "json"},
			calls: []exchange{{method: "POST", path: dlqPath + "/redrive", header: map[string]string{"Idempotency-Key": "rd-42"},
				body: `{"filter":{},"dry_run":false}`, status: 200, answer: job("redrive", "succeeded", false, 240, 240, 240, "")}},
			exact:  ptr(job("redrive", "succeeded", false, 240, 240, 240, "") + "\n"),
			stderr: []string{"idempotency key was used before"}},
		{name: "redrive dry run counts matched events", args: []string{"dlq", "redrive", "--dry-run"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{},"dry_run":true}`, status: 202, answer: job("redrive", "running", true, 50, 0, 240, "")},
				ok("GET", jobPath, job("redrive", "succeeded", true, 240, 0, 240, "")),
			},
			sleeps: 1,
			stdout: []string{"MATCHED", "240 events in 2 letters", "nothing (dry run)"},
			stderr: []string{"redrive running: 50/240 events", "redrive succeeded: 240/240 events"}},
		{name: "redrive refused filter", args: []string{"dlq", "redrive"},
			calls: []exchange{{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{},"dry_run":false}`, status: 400,
				answer: apiErr("invalid_request", "no stream matches", "")}},
			code: 1, stderr: []string{"error: invalid_request: no stream matches"}},
		{name: "redrive outlives a failed poll", args: []string{"dlq", "redrive"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{},"dry_run":false}`, status: 202, answer: job("redrive", "queued", false, 0, 0, 240, "")},
				{method: "GET", path: jobPath, status: 503, answer: `{"message":"Service Unavailable"}`},
				{method: "GET", path: jobPath, status: 429, answer: `{"message":"Too Many Requests"}`},
				ok("GET", jobPath, job("redrive", "running", false, 100, 100, 240, "")),
				{method: "GET", path: jobPath, status: 502, answer: `{"message":"Internal Server Error"}`},
				ok("GET", jobPath, job("redrive", "succeeded", false, 240, 240, 240, "")),
			},
			sleeps: 5, stdout: []string{"succeeded"}},
		{name: "redrive gives up after failed polls, with a hint", args: []string{"dlq", "redrive"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{},"dry_run":false}`, status: 202, answer: job("redrive", "queued", false, 0, 0, 240, "")},
				{method: "GET", path: jobPath, status: 503, answer: `{"message":"Service Unavailable"}`},
				{method: "GET", path: jobPath, status: 503, answer: `{"message":"Service Unavailable"}`},
				{method: "GET", path: jobPath, status: 503, answer: `{"message":"Service Unavailable"}`},
			},
			sleeps: 3, code: 1, stderr: []string{"error: http_503", "hint: the job goes on without the CLI: 'logstream dlq jobs " + jobID + "'"}},
		{name: "redrive stops on a refused poll", args: []string{"dlq", "redrive"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/redrive", body: `{"filter":{},"dry_run":false}`, status: 202, answer: job("redrive", "queued", false, 0, 0, 240, "")},
				{method: "GET", path: jobPath, status: 401, answer: apiErr("unauthenticated", "the API key was revoked", "")},
			},
			sleeps: 1, code: 1, stderr: []string{"error: unauthenticated", "hint: the job goes on"}},

		// dlq purge
		{name: "purge with yes", args: []string{"dlq", "purge", "--reason", "rejected", "--yes"},
			calls: []exchange{
				{method: "POST", path: dlqPath + "/purge", header: jsonCT, body: `{"filter":{"reasons":["rejected"]},"dry_run":false}`,
					status: 202, answer: job("purge", "running", false, 1, 1, 2, "")},
				ok("GET", jobPath, job("purge", "succeeded", false, 2, 2, 2, "")),
			},
			sleeps: 1,
			stdout: []string{"KIND", "purge", "STATE", "succeeded", "DONE", "2 events purged"},
			stderr: []string{"purge running: 1/2 events", "purge succeeded: 2/2 events"}},
		{name: "purge dry run needs no yes", args: []string{"dlq", "purge", "--dry-run", "--no-wait", "--output", "json"},
			calls: []exchange{{method: "POST", path: dlqPath + "/purge", body: `{"filter":{},"dry_run":true}`,
				status: 202, answer: job("purge", "queued", true, 0, 0, 2, "")}},
			exact: ptr(job("purge", "queued", true, 0, 0, 2, "") + "\n")},
		{name: "purge without yes is refused", args: []string{"dlq", "purge", "--reason", "rejected"},
			code: 2, stderr: []string{"add --yes to confirm", "usage: logstream dlq purge"}},
		{name: "purge takes no rate", args: []string{"dlq", "purge", "--yes", "--rate", "5"},
			code: 2, stderr: []string{"flag provided but not defined: -rate"}},

		// dlq jobs
		{name: "jobs list", args: []string{"dlq", "jobs"},
			calls: []exchange{ok("GET", dlqPath+"/jobs", `{"data":[`+job("purge", "running", false, 1, 1, 2, "")+`,`+
				job("redrive", "succeeded", true, 240, 0, 240, `,"skipped":{"stream_deleted":3,"no_stream":1}`)+`]}`)},
			stdout: []string{"ID", "KIND", "STATE", "DRY RUN", "MATCHED", "DONE", "SKIPPED", "CREATED", "ENDED",
				jobID, "purge", "running", "false", "1", "1", "0", "2026-03-02T08:00:00Z", "-",
				jobID, "redrive", "succeeded", "true", "240", "0", "4", "2026-03-02T08:00:03Z"}},
		{name: "jobs list limit json", args: []string{"dlq", "jobs", "--limit", "5", "--output", "json"},
			calls: []exchange{{method: "GET", path: dlqPath + "/jobs", query: "limit=5", status: 200, answer: `{"data":[]}`}},
			exact: ptr(`{"data":[]}` + "\n")},
		{name: "jobs one", args: []string{"dlq", "jobs", jobID},
			calls:  []exchange{ok("GET", jobPath, job("redrive", "succeeded", false, 240, 228, 240, `,"skipped":{"stream_not_active":12}`))},
			stdout: []string{"JOB", jobID, "STATE", "succeeded", "SKIPPED", "stream_not_active 12"}},
		{name: "jobs one json", args: []string{"dlq", "jobs", jobID, "-o", "json"},
			calls: []exchange{ok("GET", jobPath, job("purge", "failed", false, 1, 1, 2, ""))},
			exact: ptr(job("purge", "failed", false, 1, 1, 2, "") + "\n")},
		{name: "jobs unknown", args: []string{"dlq", "jobs", "job_nope"},
			calls: []exchange{{method: "GET", path: dlqPath + "/jobs/job_nope", status: 404, answer: apiErr("not_found", "job not found", "")}},
			code:  1, stderr: []string{"error: not_found: job not found"}},

		// admin dead-letters
		{name: "admin dead letters", args: []string{"admin", "dead-letters"},
			calls: []exchange{ok("GET", "/v1/admin/dead-letters", `{"events":240,"types":[{"destination_type":"http","events":240,"letters":3,"projects":1}],`+
				`"projects":[`+summaryJSON+`,`+strings.Replace(emptySummaryJSON, `"demo"`, `"other"`, 1)+`],`+
				`"dead_letter_queues":[{"destination_type":"datadog","dead_letter_queue":{"messages":0,"in_flight":0,"delayed":0}},`+
				`{"destination_type":"http","dead_letter_queue":{"messages":4,"in_flight":1,"delayed":0}}]}`)},
			stdout: []string{"EVENTS", "240",
				"TYPE", "EVENTS", "LETTERS", "PROJECTS", "SQS DLQ", "SQS DLQ IN FLIGHT", "http", "240", "3", "1", "4", "1", "datadog", "0", "0", "0", "0", "0",
				"PROJECT", "EVENTS", "LETTERS", "EXPIRING IN 24H", "EXPIRED", "REASONS",
				"demo", "240", "3", "5", "7", "exhausted 228, permanent 12", "other", "0", "0", "0", "0", "-"}},
		{name: "admin dead letters without SQS", args: []string{"admin", "dead-letters"},
			calls:  []exchange{ok("GET", "/v1/admin/dead-letters", `{"events":240,"types":[{"destination_type":"http","events":240,"letters":3,"projects":1}],"projects":[`+summaryJSON+`]}`)},
			stdout: []string{"TYPE", "http", "240", "3", "1", "-", "-", "PROJECT", "demo"},
			stderr: []string{"could not read SQS"}},
		{name: "admin dead letters json", args: []string{"admin", "dead-letters", "--output", "json"},
			calls: []exchange{ok("GET", "/v1/admin/dead-letters", `{"events":0,"types":[],"projects":[]}`)},
			exact: ptr(`{"events":0,"types":[],"projects":[]}` + "\n")},
		{name: "admin dead letters forbidden", args: []string{"admin", "dead-letters"},
			calls: []exchange{{method: "GET", path: "/v1/admin/dead-letters", status: 403, answer: apiErr("forbidden", "this route needs the admin key", "")}},
			code:  1, stderr: []string{"error: forbidden"}},

		// streams enable and its dead letters
		{name: "enable redrives dead letters", args: []string{"streams", "enable", streamID, "--redrive-dead-letters"},
			calls: []exchange{{method: "POST", path: streamsPath + "/" + streamID + "/enable", header: jsonCT, body: `{"redrive_dead_letters":true}`, status: 200,
				answer: strings.TrimSuffix(streamJSON, "}") + `,"dead_letters":{"events":240,"letters":3,"redrive_job":` + job("redrive", "queued", false, 0, 0, 240, "") + `}}`}},
			stdout: []string{streamID, "active", "dead letters: 240 events in 3 letters wait", "redrive: job " + jobID + " queued"}},
		{name: "enable tells of dead letters", args: []string{"streams", "enable", streamID},
			calls: []exchange{{method: "POST", path: streamsPath + "/" + streamID + "/enable", absent: []string{"Content-Type"}, status: 200,
				answer: strings.TrimSuffix(streamJSON, "}") + `,"dead_letters":{"events":12,"letters":1}}`}},
			stdout: []string{streamID, "dead letters: 12 events in 1 letters wait"},
			stderr: []string{"logstream dlq redrive --stream " + streamID}},
		{name: "enable with none waiting", args: []string{"streams", "enable", streamID, "--redrive-dead-letters", "--if-match", "3"},
			calls: []exchange{{method: "POST", path: streamsPath + "/" + streamID + "/enable", header: map[string]string{"If-Match": `"3"`, "Content-Type": "application/json"},
				body: `{"redrive_dead_letters":true}`, status: 200, answer: strings.TrimSuffix(streamJSON, "}") + `,"dead_letters":{"events":0,"letters":0}}`}},
			stdout: []string{"dead letters: none wait"}},
		{name: "enable json", args: []string{"streams", "enable", streamID, "--redrive-dead-letters", "--output", "json"},
			calls: []exchange{{method: "POST", path: streamsPath + "/" + streamID + "/enable", body: `{"redrive_dead_letters":true}`, status: 200,
				answer: strings.TrimSuffix(streamJSON, "}") + `,"dead_letters":{"events":0,"letters":0}}`}},
			exact: ptr(strings.TrimSuffix(streamJSON, "}") + `,"dead_letters":{"events":0,"letters":0}}` + "\n")},
		{name: "health with new reasons and expired", args: []string{"streams", "health", streamID},
			calls: []exchange{ok("GET", streamsPath+"/"+streamID+"/health",
				`{"stream_id":"`+streamID+`","status":"active","delivered_events":5,"failed_events":3,"retried_attempts":0,"last_success_at":null,"last_error":null,"last_error_at":null,`+
					`"dead_letters":{"unrecorded":{"count":2,"oldest_at":"2026-03-01T10:00:00Z","newest_at":"2026-03-01T10:00:00Z"},"undecodable":{"count":1,"oldest_at":"2026-03-01T10:00:00Z","newest_at":"2026-03-01T10:00:00Z"}},"dead_letters_expired":9}`)},
			stdout: []string{"DEAD LETTERS", "undecodable 1, unrecorded 2", "DEAD LETTERS EXPIRED", "9"}},

		// usage errors: exit 2, nothing sent
		{name: "peek bad reason", args: []string{"dlq", "peek", "--reason", "lost"}, code: 2, stderr: []string{`--reason "lost" is not one of`}},
		{name: "peek bad time", args: []string{"dlq", "peek", "--after", "yesterday"}, code: 2, stderr: []string{"--after must be an RFC 3339 time"}},
		{name: "peek after not before before", args: []string{"dlq", "peek", "--after", "2026-03-02T00:00:00Z", "--before", "2026-03-01T00:00:00Z"},
			code: 2, stderr: []string{"--after must be before --before"}},
		{name: "peek bad limit", args: []string{"dlq", "peek", "--limit", "501"}, code: 2, stderr: []string{"--limit must be from 1 to 500"}},
		{name: "redrive bad stream", args: []string{"dlq", "redrive", "--stream", "nope"}, code: 2, stderr: []string{`--stream "nope" is not a stream id`}},
		{name: "redrive bad rate", args: []string{"dlq", "redrive", "--rate", "-1"}, code: 2, stderr: []string{"--rate must be from 1 to 50000"}},
		{name: "redrive rate zero", args: []string{"dlq", "redrive", "--rate", "0"}, code: 2, stderr: []string{"--rate must be from 1 to 50000"}},
		{name: "jobs one with a limit", args: []string{"dlq", "jobs", jobID, "--limit", "3"}, code: 2, stderr: []string{"does not go with JOB_ID"}},
		{name: "jobs two ids", args: []string{"dlq", "jobs", "a", "b"}, code: 2, stderr: []string{"takes [JOB_ID], got 2"}},
		{name: "dlq alone", args: []string{"dlq"}, code: 2, stderr: []string{"dlq summary", "dlq peek", "dlq redrive", "dlq purge", "dlq jobs"}},
	})
}

// jobCase is one run of a command that may follow a job: its exchanges
// with the fake API, how many polls it waits for, and what it prints.
type jobCase struct {
	name     string
	args     []string
	stdin    string
	calls    []exchange
	terminal bool
	code     int
	stdout   []string
	exact    *string
	stderr   []string
	// sleeps is how many polls the command must wait for.
	sleeps int
}

// runJobCases runs each case against its own fake API, polls counted
// instead of slept, stderr a terminal when the case says so.
func runJobCases(t *testing.T, tests []jobCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, tc.calls)
			env := map[string]string{envURL: api.srv.URL, envKey: testKey, envProject: "demo"}
			var stdout, stderr bytes.Buffer
			sleeps := 0
			c := &cli{stdin: strings.NewReader(tc.stdin), stdout: &stdout, stderr: &stderr,
				getenv: func(k string) string { return env[k] },
				sleep: func(_ context.Context, d time.Duration) error {
					if d != pollInterval {
						t.Errorf("waited %v between polls, want %v", d, pollInterval)
					}
					sleeps++
					return nil
				},
				terminal: func(w io.Writer) bool { return tc.terminal && w == &stderr }}
			code := c.main(tc.args)

			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			api.mu.Lock()
			if api.n != len(tc.calls) {
				t.Errorf("%d requests made, want %d", api.n, len(tc.calls))
			}
			api.mu.Unlock()
			if sleeps != tc.sleeps {
				t.Errorf("%d waits between polls, want %d", sleeps, tc.sleeps)
			}
			if tc.exact != nil && stdout.String() != *tc.exact {
				t.Errorf("stdout\n%q\nwant\n%q", stdout.String(), *tc.exact)
			}
			containsInOrder(t, "stdout", stdout.String(), tc.stdout)
			containsInOrder(t, "stderr", stderr.String(), tc.stderr)
			if strings.Contains(stdout.String()+stderr.String(), testKey) {
				t.Errorf("the API key appears in the output")
			}
		})
	}
}
