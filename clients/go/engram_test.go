package engram_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	engram "github.com/engram-memory/engram/clients/go"
	engramv1 "github.com/engram-memory/engram/clients/go/gen/engram/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// These tests call a real Engram server. `make test` starts one and passes
// its address in ENGRAM_TEST_ADDR.
var addr = os.Getenv("ENGRAM_TEST_ADDR")

func TestMain(m *testing.M) {
	if addr == "" {
		fmt.Fprintln(os.Stderr, "ENGRAM_TEST_ADDR is not set: run these through `make test`, which starts Engram, or point it at a server")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func dial(t *testing.T, opts ...engram.Option) *engram.Client {
	t.Helper()
	client, err := engram.Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func scope(t *testing.T) *engramv1.Scope {
	return &engramv1.Scope{Namespace: "go-client", UserId: fmt.Sprintf("u-%d", time.Now().UnixNano())}
}

func TestEveryRPC(t *testing.T) {
	ctx := context.Background()
	c := dial(t)
	s := scope(t)

	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	appended, err := c.AppendMessages(ctx, &engramv1.AppendMessagesRequest{Scope: s, SessionId: "s1", Messages: []*engramv1.MessageInput{
		{Role: engramv1.Role_ROLE_USER, Content: "I prefer window seats on long flights"},
		{Role: engramv1.Role_ROLE_ASSISTANT, Content: "Noted."},
	}})
	if err != nil || len(appended.MessageIds) != 2 {
		t.Fatalf("append: %v %v", appended, err)
	}
	read, err := c.GetMessages(ctx, &engramv1.GetMessagesRequest{Scope: s, SessionId: "s1"})
	if err != nil || len(read.Messages) != 2 || read.Messages[0].Content != "I prefer window seats on long flights" {
		t.Fatalf("get messages: %v %v", read, err)
	}

	if _, err := c.SetWorking(ctx, &engramv1.SetWorkingRequest{Scope: s, TaskId: "trip", Entries: map[string]string{"plan": "book"}}); err != nil {
		t.Fatal(err)
	}
	working, err := c.GetWorking(ctx, &engramv1.GetWorkingRequest{Scope: s, TaskId: "trip"})
	if err != nil || working.State.Entries["plan"] != "book" {
		t.Fatalf("get working: %v %v", working, err)
	}
	listed, err := c.ListWorking(ctx, &engramv1.ListWorkingRequest{Scope: s})
	if err != nil || len(listed.States) != 1 {
		t.Fatalf("list working: %v %v", listed, err)
	}

	var sections, summaries int
	for event, err := range c.AssembleContext(ctx, &engramv1.AssembleContextRequest{Scope: s, SessionId: "s1", TaskId: "trip", Query: "seats", TokenBudget: 500}) {
		if err != nil {
			t.Fatal(err)
		}
		switch event.Event.(type) {
		case *engramv1.AssembleContextResponse_Section:
			sections++
		case *engramv1.AssembleContextResponse_Summary:
			summaries++
		}
	}
	if sections < 2 || summaries != 1 {
		t.Fatalf("assemble: %d sections, %d summaries", sections, summaries)
	}

	if _, err := c.CompleteTask(ctx, &engramv1.CompleteTaskRequest{Scope: s, TaskId: "trip"}); err != nil {
		t.Fatal(err)
	}
	ended, err := c.EndSession(ctx, &engramv1.EndSessionRequest{Scope: s, SessionId: "s1"})
	if err != nil || ended.MessageCount != 2 || !ended.Decisions[0].Stored {
		t.Fatalf("end session: %v %v", ended, err)
	}

	remembered, err := c.Remember(ctx, &engramv1.RememberRequest{Scope: s, Type: engramv1.MemoryType_MEMORY_TYPE_SEMANTIC, Content: "Speaks Portuguese and English"})
	if err != nil {
		t.Fatal(err)
	}
	recalled, err := c.Recall(ctx, &engramv1.RecallRequest{Scope: s, Query: "speaks Portuguese English", TopK: 5})
	if err != nil || len(recalled.Memories) == 0 || recalled.Memories[0].Memory.Id != remembered.Memory.Id {
		t.Fatalf("recall: %v %v", recalled, err)
	}
	if _, err := c.ReportUsage(ctx, &engramv1.ReportUsageRequest{Scope: s, ReturnedIds: []string{remembered.Memory.Id}, UsedIds: []string{remembered.Memory.Id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMemory(ctx, &engramv1.GetMemoryRequest{Scope: s, MemoryId: remembered.Memory.Id}); err != nil {
		t.Fatal(err)
	}
	evicted, err := c.EvictStale(ctx, &engramv1.EvictStaleRequest{Namespace: s.Namespace, UserId: s.UserId, DryRun: true})
	if err != nil || !evicted.DryRun {
		t.Fatalf("evict: %v %v", evicted, err)
	}
	if _, err := c.ForgetMemory(ctx, &engramv1.ForgetMemoryRequest{Scope: s, MemoryId: remembered.Memory.Id}); err != nil {
		t.Fatal(err)
	}
	forgot, err := c.ForgetUser(ctx, &engramv1.ForgetUserRequest{Scope: s})
	if err != nil || forgot.MemoriesDeleted < 1 {
		t.Fatalf("forget user: %v %v", forgot, err)
	}
}

func TestErrorsAreInspectableStatuses(t *testing.T) {
	c := dial(t)
	_, err := c.GetMemory(context.Background(), &engramv1.GetMemoryRequest{Scope: scope(t), MemoryId: "missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("want NotFound, got %v", err)
	}
	_, err = c.Recall(context.Background(), &engramv1.RecallRequest{Scope: scope(t), Query: "q", TopK: 1000})
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "top_k: must be an integer from 1 to 100" {
		t.Fatalf("want InvalidArgument naming top_k, got %v", err)
	}
}

func TestOversizedRequestIsRefusedAndLaterCallsSucceed(t *testing.T) {
	c := dial(t)
	_, err := c.Remember(context.Background(), &engramv1.RememberRequest{
		Scope: scope(t), Type: engramv1.MemoryType_MEMORY_TYPE_SEMANTIC, Content: strings.Repeat("x", 10<<20),
	})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("want ResourceExhausted, got %v", err)
	}
	if _, err := c.Ping(context.Background()); err != nil {
		t.Fatalf("a call after the refused one failed: %v", err)
	}
}

func TestDeadlineExpires(t *testing.T) {
	c := dial(t, engram.WithTimeout(time.Nanosecond))
	_, err := c.Ping(context.Background())
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
}

func TestRetriesOnlyUnavailable(t *testing.T) {
	// Nothing listens here: every attempt is UNAVAILABLE, and the client gives up after its retries.
	c, err := engram.New("127.0.0.1:1", engram.WithRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Ping(context.Background())
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("want Unavailable, got %v", err)
	}
}

// unavailableStub answers every call with UNAVAILABLE and counts calls per method.
func unavailableStub(t *testing.T) (string, func(string) int) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := map[string]int{}
	server := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		mu.Lock()
		calls[method]++
		mu.Unlock()
		return status.Error(codes.Unavailable, "stub")
	}))
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return listener.Addr().String(), func(method string) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[method]
	}
}

func TestRetriesOnlyIdempotentCalls(t *testing.T) {
	addr, calls := unavailableStub(t)
	c, err := engram.Dial(context.Background(), addr, engram.WithRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	scope := &engramv1.Scope{Namespace: "go-client", UserId: "u"}
	// These may have applied before their reply was lost: one attempt only.
	_, _ = c.EndSession(ctx, &engramv1.EndSessionRequest{Scope: scope, SessionId: "s"})
	_, _ = c.ForgetMemory(ctx, &engramv1.ForgetMemoryRequest{Scope: scope, MemoryId: "m"})
	_, _ = c.CompleteTask(ctx, &engramv1.CompleteTaskRequest{Scope: scope, TaskId: "t"})
	_, _ = c.ForgetUser(ctx, &engramv1.ForgetUserRequest{Scope: scope})
	_, _ = c.Remember(ctx, &engramv1.RememberRequest{Scope: scope, Content: "x"})
	for _, method := range []string{"EndSession", "ForgetMemory", "CompleteTask", "ForgetUser", "Remember"} {
		if n := calls("/engram.v1.MemoryService/" + method); n != 1 {
			t.Errorf("%s: want 1 attempt, got %d", method, n)
		}
	}
	// Reads and keyed appends: the first attempt and two retries.
	_, _ = c.GetMessages(ctx, &engramv1.GetMessagesRequest{Scope: scope, SessionId: "s"})
	_, _ = c.AppendMessages(ctx, &engramv1.AppendMessagesRequest{Scope: scope, SessionId: "s"})
	for _, method := range []string{"GetMessages", "AppendMessages"} {
		if n := calls("/engram.v1.MemoryService/" + method); n != 3 {
			t.Errorf("%s: want 3 attempts, got %d", method, n)
		}
	}
}

// The runner also starts a server whose first append to each "lost-reply…"
// session applies and then answers UNAVAILABLE, as if the reply were lost.
func TestRetriedAppendAppliesOnce(t *testing.T) {
	lossy := os.Getenv("ENGRAM_TEST_LOST_REPLY_ADDR")
	if lossy == "" {
		t.Fatal("ENGRAM_TEST_LOST_REPLY_ADDR is not set: run these through `make test`")
	}
	ctx := context.Background()
	c, err := engram.Dial(ctx, lossy)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := scope(t)
	req := &engramv1.AppendMessagesRequest{
		Scope:     s,
		SessionId: "lost-reply-go",
		Messages:  []*engramv1.MessageInput{{Role: engramv1.Role_ROLE_USER, Content: "Book the 8am train"}},
	}
	answered, err := c.AppendMessages(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !answered.GetReplayed() {
		t.Fatal("want the retry to be answered as a replay of the applied append")
	}
	if req.GetIdempotencyKey() != "" {
		t.Fatal("the caller's request must not be changed")
	}
	read, err := c.GetMessages(ctx, &engramv1.GetMessagesRequest{Scope: s, SessionId: "lost-reply-go"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(read.GetMessages()); n != 1 || read.GetMessages()[0].GetId() != answered.GetMessageIds()[0] {
		t.Fatalf("want the one message the append answered with, got %d: %v", n, read.GetMessages())
	}
}

func TestManagingMemories(t *testing.T) {
	ctx := context.Background()
	c := dial(t)
	s := scope(t)
	at := func(year int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(year, 6, 1, 0, 0, 0, 0, time.UTC))
	}
	// Imported newest first: settlement goes by when things happened.
	imported, err := c.ImportMemories(ctx, &engramv1.ImportMemoriesRequest{Scope: s, Memories: []*engramv1.ImportedMemory{
		{Type: engramv1.MemoryType_MEMORY_TYPE_SEMANTIC, Content: "Lives in Lisbon", Subject: "home", OccurredAt: at(2024), CreatedAt: at(2024)},
		{Type: engramv1.MemoryType_MEMORY_TYPE_SEMANTIC, Content: "Lives in Porto", Subject: "home", OccurredAt: at(2019), CreatedAt: at(2019)},
	}})
	if err != nil || len(imported.Results) != 2 {
		t.Fatalf("import: %v %v", imported, err)
	}
	lisbon := imported.Results[0].MemoryId
	history, err := c.MemoryHistory(ctx, &engramv1.MemoryHistoryRequest{Scope: s, MemoryId: lisbon})
	if err != nil || history.Memory.Content != "Lives in Lisbon" || len(history.History) != 1 || history.History[0].Content != "Lives in Porto" {
		t.Fatalf("history: %v %v", history, err)
	}
	updated, err := c.UpdateMemory(ctx, &engramv1.UpdateMemoryRequest{Scope: s, MemoryId: lisbon, Content: proto.String("Lives in Lisbon, in Alfama")})
	if err != nil || updated.Memory.Content != "Lives in Lisbon, in Alfama" {
		t.Fatalf("update: %v %v", updated, err)
	}
	var ids []string
	token := ""
	for {
		page, err := c.ListMemories(ctx, &engramv1.ListMemoriesRequest{Scope: s, PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Memories {
			ids = append(ids, m.Id)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	// Settled by occurrence: Porto (2019) first, then Lisbon (2024) updated it in place.
	if len(ids) != 1 || ids[0] != lisbon || imported.Results[1].MemoryId != lisbon {
		t.Fatalf("listed %v", ids)
	}
	current, err := c.ListMemories(ctx, &engramv1.ListMemoriesRequest{Scope: s, Filter: &engramv1.MemoryFilter{Superseded: proto.Bool(false)}})
	if err != nil || len(current.Memories) != 1 || current.Memories[0].Id != lisbon {
		t.Fatalf("filtered: %v %v", current, err)
	}
	exported := 0
	for item, err := range c.ExportUser(ctx, &engramv1.ExportUserRequest{Scope: s}) {
		if err != nil {
			t.Fatal(err)
		}
		if item.GetMemory() != nil {
			exported++
		}
	}
	if exported != 1 {
		t.Fatalf("exported %d memories", exported)
	}
}
