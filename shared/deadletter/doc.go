// Package deadletter is logstream's dead-letter store: every event the
// delivery core could not deliver, kept per project with the reason, so the
// project that owns them can inspect, redrive or purge them, and operators can
// see them across projects.
//
// The path of a dead letter:
//
//	delivery function ──park (reason)──▶ SQS DLQ ──Drain──▶ Letters (per project) ──jobs──▶ delivery queue
//	                    SQS redrive (no reason, a crash) ─┘
//
// The SQS DLQs stay what the design card names: where the delivery
// functions park, and SQS's own backstop. They are shared by every project of
// a destination type, so they are not where a project browses: receiving
// from a shared queue hides each message from every other reader for its
// visibility timeout, and finding one project's messages costs a scan of
// everyone's. The drain moves each DLQ message into the store, keyed by
// project, and deletes it from the DLQ only once it is stored. A project's
// summary, peek, redrive and purge then cost what its own dead letters cost.
//
// Redrive and purge run as Jobs, outside the API's 30 s limit: the API
// writes the job and starts a worker; a worker checkpoints after every
// letter and holds a lease, so a crashed or timed-out worker is resumed from
// its checkpoint by the next one (the scheduled tick resumes any job whose
// lease ran out).
//
// Two jobs never act on the same letter: a job claims each letter before it
// sends or purges it (Letters.Claim), and skips, counting them as
// "in_another_job", the letters another live job holds, without coming back
// to them. docs/architecture.md ("The dead-letter store") says why.
package deadletter
