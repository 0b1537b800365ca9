package topology

import (
	"strings"
	"testing"
	"time"
)

func TestNewIsValid(t *testing.T) {
	s := New("logstream")
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, d := range Destinations() {
		if _, ok := s.Queue(d); !ok {
			t.Errorf("no queue for %s", d)
		}
		if f, ok := s.Function(DeliverFunctionID(d)); !ok || f.Source == nil || !f.Source.ReportBatchItemFailures {
			t.Errorf("no delivery function with ReportBatchItemFailures for %s", d)
		}
	}
	m := s.Manifest()
	if len(m.Routes) != len(s.Routes) || len(m.Mappings) != len(Destinations()) || m.Table != "logstream-streams" {
		t.Fatalf("manifest %+v", m)
	}
}

func TestValidateRefuses(t *testing.T) {
	deliver := func(s *Spec) *Function {
		for i := range s.Functions {
			if s.Functions[i].Source != nil {
				return &s.Functions[i]
			}
		}
		t.Fatal("no delivery function")
		return nil
	}
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"visibility shorter than timeout", func(s *Spec) { s.Queues[0].VisibilityTimeout = time.Second }, "visibility timeout"},
		{"visibility shorter than timeout plus window", func(s *Spec) {
			f := deliver(s)
			s.Queues[0].VisibilityTimeout = f.Timeout
		}, "batching window"},
		{"route to unknown function", func(s *Spec) { s.Routes[0].Function = "nope" }, "unknown function"},
		{"duplicate route", func(s *Spec) { s.Routes = append(s.Routes, s.Routes[0]) }, "twice"},
		{"duplicate function", func(s *Spec) { s.Functions = append(s.Functions, s.Functions[0]) }, "twice"},
		{"env refers to unknown queue", func(s *Spec) {
			s.Functions[0].Env = append(s.Functions[0].Env, Env{Name: "X", Ref: RefQueueURL, Queue: "pigeon"})
		}, "unknown queue"},
		{"env refers to unknown function", func(s *Spec) {
			s.Functions[0].Env = append(s.Functions[0].Env, Env{Name: "X", Ref: RefFunctionName, Function: "deliver-pigeon"})
		}, "unknown function \"deliver-pigeon\""},
		{"long queue name", func(s *Spec) { s.Queues[0].Name = strings.Repeat("q", 81) }, "80"},
		{"long function name", func(s *Spec) { s.Functions[0].Name = strings.Repeat("f", 65) }, "64"},
		{"bad batch size", func(s *Spec) { deliver(s).Source.BatchSize = 0 }, "batch size"},
		{"bad maxReceiveCount", func(s *Spec) { s.Queues[0].MaxReceiveCount = 0 }, "maxReceiveCount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New("logstream")
			tc.mutate(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
