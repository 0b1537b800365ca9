package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/logstream/logstream/shared/secret"
)

// credentials are the secrets of one local stack.
type credentials struct {
	// AdminKey is the bootstrap admin API key.
	AdminKey string
	// BridgePassword is the Loki bridge's basic-auth password.
	BridgePassword string
	// SecretKey seals the destination secrets of the streams in the table.
	SecretKey string
	// PIIKey derives the streams' PII hash keys: kept, so a stream's
	// hashes stay the same across restarts.
	PIIKey string
}

// The files that keep each credential in the state folder, beside the
// DynamoDB stand-in's data (dev.sh runs dynalite --path DIR/dynamodb).
// dev.sh's reset removes exactly these.
const (
	adminKeyFile       = "admin-key"
	bridgePasswordFile = "bridge-password"
	secretKeyFile      = "secret-key"
	piiKeyFile         = "pii-key"
)

// loadCredentials returns the stack's credentials. A value in overrides wins
// (LOGSTREAM_ADMIN_KEY, LOGSTREAM_BRIDGE_PASSWORD) and is not stored; the
// others come from dir, or are made and stored there (0600) when missing, so
// the next run accepts the same admin key and can open the secrets it sealed
// into the table dir also keeps. dir "" keeps nothing: every value not
// overridden is new.
func loadCredentials(dir string, overrides credentials) (credentials, error) {
	c := overrides
	for _, v := range []struct {
		value    *string
		file     string
		generate func() string
	}{
		{&c.AdminKey, adminKeyFile, func() string { return "dev_" + randomHex(24) }},
		{&c.BridgePassword, bridgePasswordFile, func() string { return randomHex(16) }},
		{&c.SecretKey, secretKeyFile, secret.GenerateLocalKey},
		// 32 random bytes, base64, as the sealing key.
		{&c.PIIKey, piiKeyFile, secret.GenerateLocalKey},
	} {
		if *v.value != "" {
			continue
		}
		var err error
		if *v.value, err = keep(dir, v.file, v.generate); err != nil {
			return credentials{}, err
		}
	}
	return c, nil
}

// keep reads dir/file, or writes a new value there when it is missing or
// empty.
func keep(dir, file string, generate func() string) (string, error) {
	if dir == "" {
		return generate(), nil
	}
	path := filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(b)) != "":
		return strings.TrimSpace(string(b)), nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read the kept %s: %w", file, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("make the state folder: %w", err)
	}
	v := generate()
	// Only this user may read the stack's secrets.
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the %s: %w", file, err)
	}
	return v, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
