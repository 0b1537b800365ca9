package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/logstream/logstream/shared/lokibridge"
	"github.com/logstream/logstream/shared/secret"
)

// checkUsable fails unless the functions would accept c: the app's 32
// characters for the admin key, the bridge's minimum password, a sealing key
// secret.NewLocal takes.
func checkUsable(t *testing.T, c credentials) {
	t.Helper()
	if len(c.AdminKey) < 32 {
		t.Errorf("admin key %d characters, want at least 32", len(c.AdminKey))
	}
	if len(c.BridgePassword) < lokibridge.MinPasswordLength {
		t.Errorf("bridge password %d characters, want at least %d", len(c.BridgePassword), lokibridge.MinPasswordLength)
	}
	if _, err := secret.NewLocal(c.SecretKey); err != nil {
		t.Errorf("secret key: %v", err)
	}
}

func TestLoadCredentials(t *testing.T) {
	tests := []struct {
		name string
		// kept are files in the state folder before the run; nil: no folder.
		kept map[string]string
		// noState runs without a state folder.
		noState   bool
		overrides credentials
		// The admin key and bridge password the run must use, when known.
		wantKept     credentials
		wantOverride credentials
	}{
		{name: "first run: new values, kept for the next"},
		{name: "later run: the kept values",
			kept:     map[string]string{adminKeyFile: "dev_kept0123456789abcdef0123456789abcdef\n", bridgePasswordFile: "keptpassword0123\n", secretKeyFile: secret.GenerateLocalKey() + "\n"},
			wantKept: credentials{AdminKey: "dev_kept0123456789abcdef0123456789abcdef", BridgePassword: "keptpassword0123"}},
		{name: "overrides win and are not kept",
			kept:         map[string]string{adminKeyFile: "dev_kept0123456789abcdef0123456789abcdef\n"},
			overrides:    credentials{AdminKey: "my own admin key, thirty-two chars or more", BridgePassword: "my own bridge password"},
			wantOverride: credentials{AdminKey: "my own admin key, thirty-two chars or more", BridgePassword: "my own bridge password"}},
		{name: "an empty file is made again",
			kept: map[string]string{adminKeyFile: "\n", bridgePasswordFile: "", secretKeyFile: " "}},
		{name: "no state folder: new values, nothing kept", noState: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if tc.kept != nil {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				for f, v := range tc.kept {
					if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			use := dir
			if tc.noState {
				use = ""
			}
			first, err := loadCredentials(use, tc.overrides)
			if err != nil {
				t.Fatal(err)
			}
			checkUsable(t, first)
			for _, w := range []struct{ got, kept, override string }{
				{first.AdminKey, tc.wantKept.AdminKey, tc.wantOverride.AdminKey},
				{first.BridgePassword, tc.wantKept.BridgePassword, tc.wantOverride.BridgePassword},
			} {
				if want := w.kept + w.override; want != "" && w.got != want {
					t.Errorf("got %q, want %q", w.got, want)
				}
			}

			// The next run without overrides.
			second, err := loadCredentials(use, credentials{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.noState {
				if second == first {
					t.Error("without a state folder, two runs got the same credentials")
				}
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("without a state folder, %s was made", dir)
				}
				return
			}
			if tc.wantOverride.AdminKey != "" {
				if second.AdminKey == tc.wantOverride.AdminKey || second.BridgePassword == tc.wantOverride.BridgePassword {
					t.Error("an override was kept for the next run")
				}
				first.AdminKey, first.BridgePassword = second.AdminKey, second.BridgePassword
			}
			if second != first {
				t.Errorf("the next run got other credentials:\n%+v\nwant\n%+v", second, first)
			}
			for f, want := range map[string]os.FileMode{"": 0o700, adminKeyFile: 0o600, bridgePasswordFile: 0o600, secretKeyFile: 0o600} {
				st, err := os.Stat(filepath.Join(dir, f))
				switch {
				case err != nil:
					t.Error(err)
				case st.Mode().Perm() != want:
					t.Errorf("%s: mode %v, want %v: only its owner may read the stack's secrets", filepath.Join(dir, f), st.Mode().Perm(), want)
				}
			}
		})
	}
}

func TestLoadCredentialsUnreadable(t *testing.T) {
	// A file where the folder should be: nothing can be kept, and the run
	// must say so rather than start with keys it will forget.
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCredentials(dir, credentials{}); err == nil {
		t.Fatal("no error for a state folder that is a file")
	}
}
