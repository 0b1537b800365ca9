// Package replay sends a stream any window of its project's events again,
// from the event archive (shared/eventarchive): a replay a client asks for,
// or the backfill of a stream created with start_from.
//
// A replay runs as a Job, outside the API's 30 s, like the dead-letter jobs:
// the API stores the job and starts a worker (an asynchronous invocation of
// the replay function); the worker holds a lease and checkpoints after every
// batch it enqueues, so a worker that dies or runs out of time is resumed
// from its checkpoint by the next one (the function's scheduled tick resumes
// any job whose lease ran out).
//
// What a replay sends is what the stream would receive live, with its
// configuration as it is now: the events of the window (since <= timestamp
// < until), those the replay's own filter and the stream's filters pass,
// masked by the stream's PII rules, each with its event_id, so a receiver
// can drop an event it already has. It enqueues to the stream's delivery
// queue at a bounded rate, so a replay neither starves the live events
// queued beside it nor floods the destination.
//
// Exactly once, and its limits: a replay reads each archived event once and
// keeps one event per event_id within an hour's partition (the archive may
// hold an event twice after an archiver retry). A worker that dies between
// enqueueing a batch and checkpointing it leaves that batch to be enqueued
// again by the next worker: at most one batch (BatchEvents) sent twice, with
// the same event_ids. docs/architecture.md ("Replay") has the rest.
package replay
