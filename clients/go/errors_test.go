package engram_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	engram "github.com/engram-memory/engram/clients/go"
	engramv1 "github.com/engram-memory/engram/clients/go/gen/engram/v1"
	"google.golang.org/grpc/codes"
)

func TestErrorsAreTypedWithSentinels(t *testing.T) {
	c := dial(t)
	_, err := c.GetMemory(context.Background(), &engramv1.GetMemoryRequest{Scope: scope(t), MemoryId: "missing"})
	var e *engram.Error
	if !errors.As(err, &e) || e.Code() != codes.NotFound || !strings.Contains(e.Message(), "missing") {
		t.Fatalf("want *engram.Error NotFound naming the memory, got %#v", err)
	}
	if !errors.Is(err, engram.ErrNotFound) || errors.Is(err, engram.ErrInvalidArgument) {
		t.Fatalf("errors.Is against the sentinels: %v", err)
	}
	_, err = c.Recall(context.Background(), &engramv1.RecallRequest{Scope: scope(t), Query: "q", TopK: 1000})
	if !errors.Is(err, engram.ErrInvalidArgument) || err.Error() != "engram: INVALID_ARGUMENT: top_k: must be an integer from 1 to 100" {
		t.Fatalf("want InvalidArgument naming top_k, got %v", err)
	}
	// Mid-stream errors are typed too.
	for _, err := range c.AssembleContext(context.Background(), &engramv1.AssembleContextRequest{Scope: scope(t), TokenBudget: 0}) {
		if !errors.Is(err, engram.ErrInvalidArgument) {
			t.Fatalf("want InvalidArgument from the stream, got %v", err)
		}
	}
}

func TestContextErrorsArePreserved(t *testing.T) {
	c := dial(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Ping(canceled)
	var e *engram.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Code() != codes.Canceled {
		t.Fatalf("want Canceled wrapping context.Canceled, got %v", err)
	}
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	_, err = c.Recall(expired, &engramv1.RecallRequest{Scope: scope(t), Query: "q"})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, engram.ErrDeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded wrapping context.DeadlineExceeded, got %v", err)
	}
}

func TestDialConnectsEagerlyAndNewLazily(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1: Dial fails itself, naming the reason.
	_, err := engram.Dial(ctx, "127.0.0.1:1", engram.WithRetries(0))
	if !errors.Is(err, engram.ErrUnavailable) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("want Unavailable naming the address from Dial, got %v", err)
	}
	lazy, err := engram.New("127.0.0.1:1", engram.WithRetries(0))
	if err != nil {
		t.Fatalf("New connects on the first call, not before: %v", err)
	}
	defer lazy.Close()
	if _, err := lazy.Ping(ctx); !errors.Is(err, engram.ErrUnavailable) {
		t.Fatalf("want Unavailable on the first call, got %v", err)
	}
	if _, err := engram.Dial(ctx, addr); err != nil {
		t.Fatalf("Dial to the running server: %v", err)
	}
}

func TestOptionalFieldHelpers(t *testing.T) {
	c := dial(t)
	s := scope(t)
	remembered, err := c.Remember(context.Background(), &engramv1.RememberRequest{Scope: s,
		Type: engramv1.MemoryType_MEMORY_TYPE_SEMANTIC, Content: "Works at Acme", Importance: engram.Float32(0.8)})
	if err != nil {
		t.Fatal(err)
	}
	if m := remembered.GetMemory(); m.GetImportance() != 0.8 {
		t.Fatalf("importance as given: %v", m)
	}
}
