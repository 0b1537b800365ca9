// Package apikey issues, stores and checks the API keys that every route of the
// management and ingestion APIs requires as "Authorization: Bearer <key>".
//
// A key is 256 random bits, shown once when it is created and stored only as
// its SHA-256. Each key is scoped to a list of projects (or "*" for all) and to
// read or write access (write implies read); admin keys may also manage keys.
// One admin key, configured outside the table by its hash, bootstraps the
// system. Keys are revoked, never deleted, so the audit trail of who had access
// stays in the table.
//
// The HTTP mapping is the caller's: ErrUnauthenticated is 401, a Key that does
// not Allow the request is 403 — or 404 when the request names another
// project's resources, so a key cannot learn that they exist — and any other
// error from Authenticate is a store failure (500).
package apikey
