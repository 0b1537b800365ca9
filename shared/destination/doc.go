// Package destination holds the typed configuration of each kind of place a
// stream can deliver events to: Datadog, Grafana Loki, Splunk HEC, a generic
// HTTP endpoint, Amazon EventBridge and Amazon S3.
//
// Every write goes through the same steps:
//
//	c, err := destination.Decode(typ, raw)             // strict JSON, one object, known fields only
//	err = destination.Validate(c, policy)               // on create: every field checked, values normalised
//	err = destination.ValidateUpdate(c, stored, policy) // on update: the same, and omitted secrets keep their
//	                                                    // stored value unless the update moves them elsewhere
//	clear, secrets, err := destination.Split(c)         // clear JSON for storage, secrets to encrypt
//
// and every read the reverse: Join after decryption, Public for API responses.
// Errors from Decode and Validate are *FieldError with a path relative to the
// stream's destination_config; the stream package converts them into its own
// validation error.
//
// Secrets are never shown: Public replaces each secret field with
// "<field>_last_four", and that is empty for secrets shorter than 12
// characters, where four characters would give away too much.
package destination
