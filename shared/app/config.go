package app

import (
	"fmt"
	"strconv"
	"time"

	"github.com/logstream/logstream/shared/topology"
)

// Config is every setting a logstream function reads. Each function validates
// the part it needs.
type Config struct {
	Table           string
	StreamCacheTTL  time.Duration
	DeliveryTimeout time.Duration
	// AllowPrivateEndpoints is the local-development switch: plain http and
	// private, loopback and link-local destinations. Off in every deployment.
	AllowPrivateEndpoints bool
	QueueURLs             map[string]string // destination type → delivery queue URL
	DLQURLs               map[string]string // destination type → dead-letter queue URL
	// RetryBase and RetryMax shape the delay before a failed delivery is
	// retried (deliver.Backoff).
	RetryBase, RetryMax time.Duration
	// S3PathStyle addresses S3 buckets in the path, for S3-compatible
	// endpoints without bucket host names.
	S3PathStyle bool
	// ArchiveBucket, and BridgeCredentialsSecretARN or BridgeCredentials,
	// configure the Loki bridge.
	ArchiveBucket              string
	BridgeCredentialsSecretARN string
	BridgeCredentials          string
	// AdminKeySecretARN or AdminKey configures the bootstrap admin API key.
	AdminKeySecretARN string
	AdminKey          string
	AuthCacheTTL      time.Duration
	MaxStreams        int
	// KMSKeyID or LocalSecretKey configures the sealing of destination secrets.
	KMSKeyID       string
	LocalSecretKey string
}

// LoadConfig reads the variables topology declares.
func LoadConfig(getenv Getenv) (Config, error) {
	c := Config{Table: getenv(topology.EnvTable), QueueURLs: map[string]string{}, DLQURLs: map[string]string{}}
	var err error
	if c.StreamCacheTTL, err = duration(getenv, topology.EnvStreamCacheTTL, topology.DefaultStreamCacheTTL); err != nil {
		return c, err
	}
	if c.DeliveryTimeout, err = duration(getenv, topology.EnvDeliveryTimeout, topology.DefaultDeliveryTimeout); err != nil {
		return c, err
	}
	if c.AllowPrivateEndpoints, err = boolean(getenv, topology.EnvAllowPrivateEndpoints); err != nil {
		return c, err
	}
	if c.S3PathStyle, err = boolean(getenv, topology.EnvS3PathStyle); err != nil {
		return c, err
	}
	if c.RetryBase, err = duration(getenv, topology.EnvRetryBase, topology.DefaultRetryBase); err != nil {
		return c, err
	}
	if c.RetryMax, err = duration(getenv, topology.EnvRetryMax, topology.DefaultRetryMax); err != nil {
		return c, err
	}
	c.AdminKeySecretARN, c.AdminKey = getenv(topology.EnvAdminKeySecretARN), getenv(topology.EnvAdminKey)
	c.KMSKeyID, c.LocalSecretKey = getenv(topology.EnvKMSKeyID), getenv(topology.EnvLocalSecretKey)
	c.ArchiveBucket = getenv(topology.EnvArchiveBucket)
	c.BridgeCredentialsSecretARN, c.BridgeCredentials = getenv(topology.EnvBridgeCredentialsSecretARN), getenv(topology.EnvBridgeCredentials)
	if c.AuthCacheTTL, err = duration(getenv, topology.EnvAuthCacheTTL, topology.DefaultAuthCacheTTL); err != nil {
		return c, err
	}
	c.MaxStreams = topology.DefaultMaxStreams
	if v := getenv(topology.EnvMaxStreams); v != "" {
		if c.MaxStreams, err = strconv.Atoi(v); err != nil || c.MaxStreams < 1 {
			return c, fmt.Errorf("config: %s=%q is not a positive whole number", topology.EnvMaxStreams, v)
		}
	}
	for _, d := range topology.Destinations() {
		if u := getenv(topology.QueueURLEnv(d)); u != "" {
			c.QueueURLs[d] = u
		}
		if u := getenv(topology.DLQURLEnv(d)); u != "" {
			c.DLQURLs[d] = u
		}
	}
	return c, nil
}

func boolean(getenv Getenv, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("config: %s=%q is not a boolean", name, v)
	}
	return b, nil
}

func duration(getenv Getenv, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("config: %s=%q is not a duration such as 30s", name, v)
	}
	return d, nil
}

// Validate checks what every function needs.
func (c Config) Validate() error {
	if c.Table == "" {
		return fmt.Errorf("config: %s is required", topology.EnvTable)
	}
	if c.DeliveryTimeout <= 0 {
		return fmt.Errorf("config: %s must be positive", topology.EnvDeliveryTimeout)
	}
	return nil
}

// ValidateSealing requires exactly one way to seal destination secrets.
func (c Config) ValidateSealing() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if (c.KMSKeyID == "") == (c.LocalSecretKey == "") {
		return fmt.Errorf("config: set exactly one of %s (deployments) and %s (local development)",
			topology.EnvKMSKeyID, topology.EnvLocalSecretKey)
	}
	return nil
}

// ValidateAPI also requires an admin key source.
func (c Config) ValidateAPI() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if (c.AdminKeySecretARN == "") == (c.AdminKey == "") {
		return fmt.Errorf("config: set exactly one of %s (deployments) and %s (local development)",
			topology.EnvAdminKeySecretARN, topology.EnvAdminKey)
	}
	return nil
}

// ValidateIngest also requires an admin key source and a queue for every
// destination type.
func (c Config) ValidateIngest() error {
	if err := c.ValidateAPI(); err != nil {
		return err
	}
	for _, d := range topology.Destinations() {
		if c.QueueURLs[d] == "" {
			return fmt.Errorf("config: %s is required", topology.QueueURLEnv(d))
		}
	}
	return nil
}

// ValidateDeliver also requires what the delivery function of a destination
// type needs: sealing, its own queue (to delay retries) and its DLQ (to park
// what cannot be delivered).
func (c Config) ValidateDeliver(destination string) error {
	if err := c.ValidateSealing(); err != nil {
		return err
	}
	if c.QueueURLs[destination] == "" {
		return fmt.Errorf("config: %s is required", topology.QueueURLEnv(destination))
	}
	if c.DLQURLs[destination] == "" {
		return fmt.Errorf("config: %s is required", topology.DLQURLEnv(destination))
	}
	if c.RetryMax < c.RetryBase {
		return fmt.Errorf("config: %s must be at least %s", topology.EnvRetryMax, topology.EnvRetryBase)
	}
	return nil
}
