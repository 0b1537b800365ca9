package topology

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Capacity is what bounds a deployment's throughput, set together because
// they bind in turn (docs/scaling.md): the HTTP API stage's throttle,
// ingestion's reserved concurrency, and each delivery mapping's maximum
// concurrency and batch size. New sets the defaults, sized for a platform
// of up to 100 ingest requests a second; SetCapacity changes them for a
// bigger one, and docs/scaling.md says how to size them.
type Capacity struct {
	// APIRate and APIBurst are the $default stage's throttle: requests a
	// second, steady and in a burst, beyond which API Gateway answers 429.
	APIRate, APIBurst int
	// IngestConcurrency is ingestion's reserved concurrency (its guarantee
	// and its cap).
	IngestConcurrency int
	// DeliverConcurrency is every delivery mapping's MaximumConcurrency.
	DeliverConcurrency int
	// DeliverBatchSize is every delivery mapping's BatchSize: messages per
	// invocation, and so how many of a stream's messages share one health
	// counter write.
	DeliverBatchSize int
	// Account is the account's Lambda concurrent executions quota in the
	// region (AWS's default 1,000 unless raised by a quota request): every
	// reservation and delivery maximum together must leave 100 of it
	// unreserved, and the account-concurrency alarm watches it.
	Account int
}

// DefaultCapacity is New's: 100 requests/s (bursts of 200) through the
// stage, the concurrency defaults above, batches of 10 messages.
var DefaultCapacity = Capacity{APIRate: 100, APIBurst: 200, IngestConcurrency: DefaultIngestReservedConcurrency,
	DeliverConcurrency: DefaultDeliverMaxConcurrency, DeliverBatchSize: 10, Account: AccountConcurrency}

// EnvCapacity is the deploy-time setting of the capacity (read by the CDK
// app, infra/main.go): comma-separated name=value pairs, each name one of
// CapacityNames, the others left as they are, e.g.
// "api_rate=2000,api_burst=4000,ingest=150,deliver=100".
const EnvCapacity = "LOGSTREAM_CAPACITY"

// CapacityNames are EnvCapacity's names, in Capacity's order.
var CapacityNames = []string{"api_rate", "api_burst", "ingest", "deliver", "deliver_batch", "account"}

// ParseCapacity reads an EnvCapacity value over base.
func ParseCapacity(base Capacity, s string) (Capacity, error) {
	c := base
	fields := []*int{&c.APIRate, &c.APIBurst, &c.IngestConcurrency, &c.DeliverConcurrency, &c.DeliverBatchSize, &c.Account}
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		i := slices.Index(CapacityNames, strings.TrimSpace(name))
		if !ok || i < 0 {
			return base, fmt.Errorf("%s: %q is not name=value with a name of %s", EnvCapacity, pair, strings.Join(CapacityNames, ", "))
		}
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return base, fmt.Errorf("%s: %s=%q is not a whole number", EnvCapacity, name, value)
		}
		*fields[i] = n
	}
	return c, c.Validate()
}

// Validate checks c against what AWS accepts: a stage throttle of at
// least 1 request/s with a burst no smaller (and within the account's
// 10,000 requests/s default), an account quota of at least AWS's default,
// a reserved concurrency of at least 1 that leaves 100 of it unreserved, a
// mapping's MaximumConcurrency of 2 to 1,000, and an SQS mapping's batch
// of 1 to 10,000 messages (above 10 it needs a batching window, which
// every delivery mapping has).
func (c Capacity) Validate() error {
	switch {
	case c.APIRate < 1 || c.APIRate > 10000:
		return fmt.Errorf("capacity: api_rate %d is outside 1–10,000 requests/s", c.APIRate)
	case c.APIBurst < c.APIRate || c.APIBurst > 10000:
		return fmt.Errorf("capacity: api_burst %d is below api_rate %d or above 10,000", c.APIBurst, c.APIRate)
	case c.Account < AccountConcurrency:
		return fmt.Errorf("capacity: account %d is below Lambda's default quota of %d", c.Account, AccountConcurrency)
	case c.IngestConcurrency < 1 || c.IngestConcurrency > c.Account-MinUnreservedConcurrency:
		return fmt.Errorf("capacity: ingest %d is outside 1–%d reserved executions (account %d less %d unreserved)",
			c.IngestConcurrency, c.Account-MinUnreservedConcurrency, c.Account, MinUnreservedConcurrency)
	case c.DeliverConcurrency < 2 || c.DeliverConcurrency > 1000:
		return fmt.Errorf("capacity: deliver %d is outside the mapping's 2–1,000", c.DeliverConcurrency)
	case c.DeliverBatchSize < 1 || c.DeliverBatchSize > 10000:
		return fmt.Errorf("capacity: deliver_batch %d is outside SQS's 1–10,000 messages", c.DeliverBatchSize)
	}
	return nil
}

// SetCapacity applies c: the stage throttle (Spec.Capacity, which the CDK
// stack reads), ingestion's reserved concurrency, and every delivery
// mapping's maximum concurrency and batch size.
func (s *Spec) SetCapacity(c Capacity) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s.Capacity = c
	for i := range s.Functions {
		f := &s.Functions[i]
		if f.ID == FunctionIngest {
			f.ReservedConcurrency = c.IngestConcurrency
		}
		if f.Source != nil && f.Source.Destination != "" && f.Role == RoleDeliver {
			src := *f.Source
			src.MaxConcurrency = c.DeliverConcurrency
			src.BatchSize = c.DeliverBatchSize
			f.Source = &src
		}
	}
	return nil
}
