// Package secret keeps destination secrets (API keys, passwords, tokens,
// webhook signing secrets) encrypted at rest. Stores call a Sealer before
// writing a secret to DynamoDB and after reading it back; plaintext secrets
// exist only in memory, for the delivery that needs them.
//
// There are two Sealers, chosen by configuration, never by "am I running
// locally": KMS (a KMS key id is configured) and Local (a 32-byte master key
// is configured in LOGSTREAM_LOCAL_SECRET_KEY, for development and tests).
// Both write the same envelope, so the local stack exercises the same format
// and parsing code as production.
//
// # Envelope encryption
//
// Every Seal makes a fresh 256-bit data key, encrypts the secret with it
// under AES-256-GCM, and stores the data key only in wrapped (encrypted)
// form beside the ciphertext. With KMS the data key comes from
// GenerateDataKey and is unwrapped by Decrypt, so KMS only ever sees data
// keys, never a customer's secret, and the KMS key itself never leaves KMS.
// With Local the data key is random and wrapped by AES-256-GCM under the
// master key.
//
// # Binding to the owner
//
// The aad passed to Seal and Open (for example "project_id/stream_id") is
// bound twice: it is the GCM additional data of the secret itself, and it
// binds the wrapped data key — as the KMS EncryptionContext
// {"logstream:aad": base64url(aad)}, or as the GCM additional data of the
// local key wrap. A blob copied into another stream's record therefore fails
// to open, and with KMS the refusal happens inside KMS and is visible in
// CloudTrail. The aad is not secret: KMS logs the encryption context in
// CloudTrail in the clear. An empty aad is refused, because a secret bound to
// nothing can be replayed anywhere.
//
// # Nonces
//
// AES-GCM fails catastrophically if a nonce repeats under one key. Here
// every key encrypts exactly one message — the data key is new on every Seal
// — so a nonce cannot repeat; the nonce is random anyway, which costs
// nothing and keeps that true if data keys were ever reused. The Local
// master key wraps many data keys with random 96-bit nonces, safe far beyond
// the 2^32 wraps a development key will ever see.
//
// # Format, version 1
//
//	offset      size  field
//	0           1     format version, 0x01
//	1           1     key kind: 0x01 AWS KMS, 0x02 local master key
//	2           2     n, length of the wrapped data key, big-endian uint16, n ≥ 1
//	4           n     wrapped data key:
//	                    KMS:   GenerateDataKey's CiphertextBlob, opaque
//	                           (about 180 bytes for a symmetric key)
//	                    local: 12-byte nonce ‖ AES-256-GCM(master key, data key)
//	                           ‖ 16-byte tag, 60 bytes; GCM additional data is
//	                           "logstream:aad:" ‖ aad
//	4+n         12    nonce for the secret
//	16+n        m+16  AES-256-GCM(data key, secret) ‖ 16-byte tag; GCM
//	                  additional data is bytes 0–1 of the blob ‖ aad
//
// The blob is self-describing so the format can change: a new version byte
// gets a new parser while version 1 blobs at rest keep opening. The kind byte
// lets a sealer reject a blob from the other kind with a clear message
// before calling anyone; it is also authenticated (it is in the GCM
// additional data), as is the version. The length prefix and every slice are
// bounds-checked: a malformed blob yields ErrCannotOpen, never a panic.
//
// # Errors
//
// Open returns an error wrapping ErrCannotOpen when the blob itself is the
// problem: truncated, altered, sealed for another aad, under another key, or
// by the other kind of Sealer. Retrying cannot help. Errors from calling KMS
// (throttling, network, access denied, disabled key) are wrapped as they are,
// not as ErrCannotOpen, so callers can retry them or alert on them.
package secret
