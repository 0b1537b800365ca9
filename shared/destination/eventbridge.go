package destination

import (
	"strings"

	"github.com/logstream/logstream/shared/netguard"
)

// EventBridge is the type of destinations that put events on an Amazon
// EventBridge bus in the customer's account.
const EventBridge = "eventbridge"

// eventBridgeKind declares the type. The sender puts events with
// logstream's own role, so the role may call PutEvents on any bus but this
// account's: the bus's resource policy is what admits logstream.
var eventBridgeKind = Kind{
	Type: EventBridge,
	New:  func() Config { return &EventBridgeConfig{} },
	AWS:  AWSEventBridge,
	Grants: []Grant{{
		Sid:        "PutEventsOnCustomerBuses",
		Actions:    []string{"events:PutEvents"},
		ARN:        "events:*:*:event-bus/*",
		AccountKey: "aws:ResourceAccount",
	}},
}

// EventBridgeConfig is the config of an "eventbridge" destination: events
// put on an Amazon EventBridge event bus.
type EventBridgeConfig struct {
	// EventBusARN is the bus's ARN.
	EventBusARN string `json:"event_bus_arn"`
	// Region is the bus's region; it must match the ARN's and is taken from
	// it when empty.
	Region string `json:"region"`
	// Source is the entries' Source (default "logstream").
	Source string `json:"source"`
	// DetailType is the entries' DetailType; empty means each event's own
	// type.
	DetailType string `json:"detail_type,omitempty"`
}

// Type implements Config.
func (c *EventBridgeConfig) Type() string { return EventBridge }

// Secrets implements Config: an EventBridge destination has none; logstream
// reaches the bus with its own IAM role.
func (c *EventBridgeConfig) Secrets() map[string]*string { return map[string]*string{} }

// SecretBindings implements Config: none. Moving the bus (event_bus_arn,
// region) carries no stored credential: logstream puts events with its own
// IAM role, which is neither stored with the stream nor shown, and the bus's
// resource policy decides whether to accept them.
func (c *EventBridgeConfig) SecretBindings() map[string][]string { return nil }

// EventBridgeDefaultSource is the Source of entries when the config sets none.
const EventBridgeDefaultSource = "logstream"

var (
	eventBusARN = lazyRegexp(`^arn:(aws|aws-cn|aws-us-gov):events:([^:]*):([^:]*):event-bus/(.*)$`)
	// EventBridge CreateEventBus Name: 1–256 characters matching
	// [/\.\-_A-Za-z0-9]+, and "Custom event bus names can't contain the /
	// character" (only partner buses, which take no PutEvents from
	// customers, do).
	eventBusName = charset{max: 256, allowed: alphanumeric + ".-_"}
	// PutEvents Source: 1–256 characters; EventBridge Scheduler's pattern
	// for the same field is (?=[/\.\-_A-Za-z0-9]+)((?!aws\.).*), and the
	// "aws." prefix is reserved for AWS services.
	eventBridgeSource = charset{max: 256, allowed: alphanumeric + "/.-_"}
)

// PutEvents DetailType: "Length Constraints: Minimum length of 1. Maximum
// length of 128."
const maxDetailType = 128

func (c *EventBridgeConfig) validate(netguard.Policy) *FieldError {
	c.EventBusARN = strings.TrimSpace(c.EventBusARN)
	if c.EventBusARN == "" {
		return invalid("event_bus_arn", "is required")
	}
	m := eventBusARN().FindStringSubmatch(c.EventBusARN)
	if m == nil {
		return invalid("event_bus_arn", "must be an event bus ARN: arn:aws:events:<region>:<account>:event-bus/<name>")
	}
	partition, region, account, name := m[1], m[2], m[3], m[4]
	if !awsRegionPattern().MatchString(region) {
		return invalid("event_bus_arn", "has an invalid region %q", region)
	}
	if awsPartition(region) != partition {
		return invalid("event_bus_arn", "region %s is not in partition %s", region, partition)
	}
	if !awsAccountID().MatchString(account) {
		return invalid("event_bus_arn", "must hold a 12-digit account ID")
	}
	if !eventBusName.MatchString(name) {
		return invalid("event_bus_arn", "event bus name must be 1 to 256 letters, digits and . - _")
	}

	if strings.TrimSpace(c.Region) == "" {
		c.Region = region
	}
	r, err := checkRegion("region", c.Region)
	if err != nil {
		return err
	}
	if r != region {
		return invalid("region", "must match the event bus ARN's region %s", region)
	}
	c.Region = r

	c.Source = strings.TrimSpace(c.Source)
	if c.Source == "" {
		c.Source = EventBridgeDefaultSource
	}
	if !eventBridgeSource.MatchString(c.Source) {
		return invalid("source", "must be 1 to 256 letters, digits and / . - _")
	}
	if strings.HasPrefix(strings.ToLower(c.Source), "aws.") {
		return invalid("source", "must not start with \"aws.\", which is reserved for AWS services")
	}

	c.DetailType = strings.TrimSpace(c.DetailType)
	return checkText("detail_type", c.DetailType, maxDetailType)
}
