package deliver

import (
	"context"
	"sync"
	"time"
)

// acker deletes the delivered messages of the streams that are done while
// others in the same invocation are still sending (issue 11): every AckAfter,
// what finished since is deleted at once, instead of waiting in the partial
// batch response for the slowest stream. Were the invocation then to fail or
// time out, those messages would not come back for a second delivery. An
// invocation shorter than AckAfter makes no call: its messages are deleted by
// the event source mapping, as always.
type acker struct {
	core    *Core
	ctx     context.Context
	mu      sync.Mutex
	pending []Receipt
	quit    chan struct{}
	wg      sync.WaitGroup
}

func (c *Core) startAcks(ctx context.Context) *acker {
	a := &acker{core: c, ctx: ctx, quit: make(chan struct{})}
	if c.Queue == nil {
		return a
	}
	every := c.AckAfter
	if every <= 0 {
		every = time.Second
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-a.quit:
				return
			case <-t.C:
				a.flush()
			}
		}
	}()
	return a
}

// done records a stream's messages as finished, except those it retries.
func (a *acker) done(msgs []message, again []Delay) {
	if a.core.Queue == nil {
		return
	}
	retried := make(map[string]bool, len(again))
	for _, d := range again {
		retried[d.MessageID] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		if !retried[m.rec.MessageId] {
			a.pending = append(a.pending, Receipt{MessageID: m.rec.MessageId, ReceiptHandle: m.rec.ReceiptHandle})
		}
	}
}

func (a *acker) flush() {
	a.mu.Lock()
	acks := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(acks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), time.Second)
	defer cancel()
	if err := a.core.Queue.Ack(ctx, acks); err != nil {
		// They are still left out of the batch response, so the event
		// source mapping deletes them when the invocation returns.
		a.core.log().WarnContext(a.ctx, "delete delivered messages early", "messages", len(acks), "err", err)
	}
}

// stop ends the early deletes; what is still pending is deleted with the
// partial batch response.
func (a *acker) stop() {
	close(a.quit)
	a.wg.Wait()
}
