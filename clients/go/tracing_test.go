package engram_test

import (
	"context"
	"net"
	"testing"

	engram "github.com/engram-memory/engram/clients/go"
	engramv1 "github.com/engram-memory/engram/clients/go/gen/engram/v1"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// pingRecorder is a MemoryService that records the metadata of each Ping.
type pingRecorder struct {
	engramv1.UnimplementedMemoryServiceServer
	seen chan metadata.MD
}

func (p *pingRecorder) Ping(ctx context.Context, _ *engramv1.PingRequest) (*engramv1.PingResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	p.seen <- md
	return &engramv1.PingResponse{}, nil
}

// The client sends the caller's trace context as W3C traceparent, so
// Engram's server span joins the caller's trace. A recording server shows
// what goes on the wire.
func TestCallsCarryTheCallersTraceContext(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	recorder := &pingRecorder{seen: make(chan metadata.MD, 1)}
	server := grpc.NewServer()
	engramv1.RegisterMemoryServiceServer(server, recorder)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)

	previous := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(previous) })

	client, err := engram.Dial(context.Background(), listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	if _, err := client.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	md := <-recorder.seen
	got := md.Get("traceparent")
	if len(got) != 1 || len(got[0]) != 55 || got[0][3:35] != traceID.String() {
		t.Fatalf("traceparent %q does not continue trace %s", got, traceID)
	}
}
