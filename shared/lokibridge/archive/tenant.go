package archive

import (
	"errors"
	"fmt"
)

// MaxTenantLength is the longest tenant ID Loki accepts (dskit
// tenant.ValidTenantID: "tenant ID is too long: max 150 characters").
const MaxTenantLength = 150

// MaxKeyLength is the longest key Encode returns, for stores that add a
// prefix within S3's 1,024 bytes.
const MaxKeyLength = len("tenant=") + MaxTenantLength + len("/dt=2006-01-02/hour=15/") + nameHexLen + len(".ndjson.gz")

// ErrInvalidTenant is wrapped by every error of ValidateTenant.
var ErrInvalidTenant = errors.New("invalid tenant ID")

// ValidateTenant accepts the tenant IDs Loki accepts (Grafana Loki/Mimir
// "About tenant IDs"): 1 to 150 characters of a-z A-Z 0-9 ! - _ . * ' ( ),
// but not "." or "..". Those characters are exactly the ones the S3 User
// Guide ("Naming Amazon S3 objects") lists as safe in a key, and with no
// "/" and no dot segment a tenant can never step outside its own
// tenant=<id>/ partition, so the ID goes into the key as it is.
func ValidateTenant(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidTenant)
	case len(id) > MaxTenantLength:
		return fmt.Errorf("%w: too long: max %d characters", ErrInvalidTenant, MaxTenantLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q is not allowed", ErrInvalidTenant, id)
	}
	for i := 0; i < len(id); i++ {
		if !tenantChar(id[i]) {
			return fmt.Errorf("%w: unsupported character %q at byte %d (allowed: a-z A-Z 0-9 ! - _ . * ' ( ))", ErrInvalidTenant, id[i:i+1], i)
		}
	}
	return nil
}

func tenantChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '-', '_', '.', '*', '\'', '(', ')':
		return true
	}
	return false
}
