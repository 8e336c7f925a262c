// Package engram is the Go client of Engram, the memory service for LLM
// applications. It wraps the generated gRPC client (package engramv1) with
// what every caller needs: dialing with TLS or plaintext, a bearer token, a
// default timeout for calls whose context has no deadline, retries of
// UNAVAILABLE with backoff, and OpenTelemetry trace propagation (otelgrpc).
// Every error is an *Error (see errors.go): errors.As, errors.Is with the
// sentinels and the caller's context errors, and status.Code all work.
package engram

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"iter"
	"maps"
	"slices"
	"time"

	engramv1 "github.com/engram-memory/engram/clients/go/gen/engram/v1"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Client calls one Engram server. It is safe for concurrent use.
type Client struct {
	conn *grpc.ClientConn
	rpc  engramv1.MemoryServiceClient
}

type options struct {
	tls     *tls.Config
	token   string
	timeout time.Duration
	retries int
	backoff time.Duration
}

// Option configures Dial.
type Option func(*options)

// WithTLS connects over TLS with the given configuration (plaintext otherwise).
func WithTLS(config *tls.Config) Option { return func(o *options) { o.tls = config } }

// WithToken sends "authorization: Bearer <token>" with every call.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTimeout bounds calls whose context has no deadline (default 10s).
func WithTimeout(timeout time.Duration) Option { return func(o *options) { o.timeout = timeout } }

// WithRetries retries idempotent unary calls (and appends, which carry a
// key) that fail with UNAVAILABLE up to n times,
// with exponential backoff from 100ms (default 2). Other codes are never retried.
func WithRetries(n int) Option { return func(o *options) { o.retries = n } }

// MaxRequestBytes is the largest request Engram accepts (4 MiB); the client
// refuses a larger one itself with codes.ResourceExhausted.
const MaxRequestBytes = 4 * 1024 * 1024

// Dial connects to an Engram server at addr ("host:port") and waits until the
// connection is up, so a wrong address or a server that is down fails here
// (an *Error with codes.Unavailable naming the reason) rather than on the
// first call; ctx bounds the wait. New is the lazy form.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	c, err := New(addr, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.connect(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// connect waits for the connection to be ready. On a failed attempt the
// reason is only in a call's status, so it asks for it with a Ping that does
// not wait for the connection.
func (c *Client) connect(ctx context.Context) error {
	c.conn.Connect()
	for {
		state := c.conn.GetState()
		switch state {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure:
			_, err := c.rpc.Ping(ctx, &engramv1.PingRequest{})
			if err == nil || status.Code(err) != codes.Unavailable {
				// Reachable (an authentication or permission refusal is the caller's to see on its calls).
				return nil
			}
			return err
		}
		if !c.conn.WaitForStateChange(ctx, state) {
			return toError(ctx, status.FromContextError(ctx.Err()).Err())
		}
	}
}

// New returns a client for the Engram server at addr without connecting:
// the connection is made on the first call (like grpc.NewClient), so an
// unreachable server shows as UNAVAILABLE there.
func New(addr string, opts ...Option) (*Client, error) {
	o := options{timeout: 10 * time.Second, retries: 2, backoff: 100 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	dialOptions := []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(typedErrors, o.timeoutUnary, o.retryUnary),
		grpc.WithChainStreamInterceptor(o.timeoutStream),
		// A request over the server's limit fails here with ResourceExhausted, before it is sent.
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(MaxRequestBytes)),
		// Each call carries the caller's trace context (through the global
		// OpenTelemetry propagator and tracer provider; none registered: nothing sent).
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	}
	if o.tls != nil {
		dialOptions = append(dialOptions, grpc.WithTransportCredentials(credentials.NewTLS(o.tls)))
	} else {
		dialOptions = append(dialOptions, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if o.token != "" {
		dialOptions = append(dialOptions, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: o.tls != nil}))
	}
	conn, err := grpc.NewClient(addr, dialOptions...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, rpc: engramv1.NewMemoryServiceClient(conn)}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Raw is the generated client, for call options the wrapper does not cover.
func (c *Client) Raw() engramv1.MemoryServiceClient { return c.rpc }

func (c *Client) Ping(ctx context.Context) (*engramv1.PingResponse, error) {
	return c.rpc.Ping(ctx, &engramv1.PingRequest{})
}

func (c *Client) AppendMessages(ctx context.Context, req *engramv1.AppendMessagesRequest) (*engramv1.AppendMessagesResponse, error) {
	return c.rpc.AppendMessages(ctx, req)
}

func (c *Client) GetMessages(ctx context.Context, req *engramv1.GetMessagesRequest) (*engramv1.GetMessagesResponse, error) {
	return c.rpc.GetMessages(ctx, req)
}

func (c *Client) EndSession(ctx context.Context, req *engramv1.EndSessionRequest) (*engramv1.EndSessionResponse, error) {
	return c.rpc.EndSession(ctx, req)
}

func (c *Client) SetWorking(ctx context.Context, req *engramv1.SetWorkingRequest) (*engramv1.SetWorkingResponse, error) {
	return c.rpc.SetWorking(ctx, req)
}

func (c *Client) GetWorking(ctx context.Context, req *engramv1.GetWorkingRequest) (*engramv1.GetWorkingResponse, error) {
	return c.rpc.GetWorking(ctx, req)
}

func (c *Client) ListWorking(ctx context.Context, req *engramv1.ListWorkingRequest) (*engramv1.ListWorkingResponse, error) {
	return c.rpc.ListWorking(ctx, req)
}

func (c *Client) CompleteTask(ctx context.Context, req *engramv1.CompleteTaskRequest) (*engramv1.CompleteTaskResponse, error) {
	return c.rpc.CompleteTask(ctx, req)
}

func (c *Client) Remember(ctx context.Context, req *engramv1.RememberRequest) (*engramv1.RememberResponse, error) {
	return c.rpc.Remember(ctx, req)
}

func (c *Client) Recall(ctx context.Context, req *engramv1.RecallRequest) (*engramv1.RecallResponse, error) {
	return c.rpc.Recall(ctx, req)
}

func (c *Client) GetMemory(ctx context.Context, req *engramv1.GetMemoryRequest) (*engramv1.GetMemoryResponse, error) {
	return c.rpc.GetMemory(ctx, req)
}

func (c *Client) ForgetMemory(ctx context.Context, req *engramv1.ForgetMemoryRequest) (*engramv1.ForgetMemoryResponse, error) {
	return c.rpc.ForgetMemory(ctx, req)
}

func (c *Client) ForgetUser(ctx context.Context, req *engramv1.ForgetUserRequest) (*engramv1.ForgetUserResponse, error) {
	return c.rpc.ForgetUser(ctx, req)
}

func (c *Client) ReportUsage(ctx context.Context, req *engramv1.ReportUsageRequest) (*engramv1.ReportUsageResponse, error) {
	return c.rpc.ReportUsage(ctx, req)
}

func (c *Client) EvictStale(ctx context.Context, req *engramv1.EvictStaleRequest) (*engramv1.EvictStaleResponse, error) {
	return c.rpc.EvictStale(ctx, req)
}

// MemoryHistory returns a memory and what came before it, oldest first.
func (c *Client) MemoryHistory(ctx context.Context, req *engramv1.MemoryHistoryRequest) (*engramv1.MemoryHistoryResponse, error) {
	return c.rpc.MemoryHistory(ctx, req)
}

// ListMemories returns one page of the user's memories; pass NextPageToken back for the next.
func (c *Client) ListMemories(ctx context.Context, req *engramv1.ListMemoriesRequest) (*engramv1.ListMemoriesResponse, error) {
	return c.rpc.ListMemories(ctx, req)
}

// UpdateMemory corrects a memory; the previous version goes to its history.
func (c *Client) UpdateMemory(ctx context.Context, req *engramv1.UpdateMemoryRequest) (*engramv1.UpdateMemoryResponse, error) {
	return c.rpc.UpdateMemory(ctx, req)
}

// ImportMemories imports up to 1000 memories with their original timestamps; one result each.
func (c *Client) ImportMemories(ctx context.Context, req *engramv1.ImportMemoriesRequest) (*engramv1.ImportMemoriesResponse, error) {
	return c.rpc.ImportMemories(ctx, req)
}

// ExportUser streams everything Engram holds of one user; range over it:
//
//	for item, err := range client.ExportUser(ctx, req) { ... }
//
// A non-nil error ends it.
func (c *Client) ExportUser(ctx context.Context, req *engramv1.ExportUserRequest) iter.Seq2[*engramv1.ExportUserResponse, error] {
	return func(yield func(*engramv1.ExportUserResponse, error) bool) {
		outer := ctx
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.rpc.ExportUser(ctx, req)
		if err != nil {
			yield(nil, toError(outer, err))
			return
		}
		for {
			item, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, toError(outer, err))
				return
			}
			if !yield(item, nil) {
				return
			}
		}
	}
}

// AssembleContext streams the assembled context; range over it:
//
//	for event, err := range client.AssembleContext(ctx, req) { ... }
//
// Sections come first, in order, then the summary. A non-nil error ends it.
func (c *Client) AssembleContext(ctx context.Context, req *engramv1.AssembleContextRequest) iter.Seq2[*engramv1.AssembleContextResponse, error] {
	return func(yield func(*engramv1.AssembleContextResponse, error) bool) {
		outer := ctx
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.rpc.AssembleContext(ctx, req)
		if err != nil {
			yield(nil, toError(outer, err))
			return
		}
		for {
			event, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, toError(outer, err))
				return
			}
			if !yield(event, nil) {
				return
			}
		}
	}
}

// typedErrors returns every unary call's error as an *Error (outermost, so
// it sees the caller's own context).
func typedErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return toError(ctx, invoker(ctx, method, req, reply, cc, opts...))
}

func (o options) timeoutUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok && o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (o options) timeoutStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if _, ok := ctx.Deadline(); ok || o.timeout <= 0 {
		return streamer(ctx, desc, cc, method, opts...)
	}
	// The stream outlives this function: its timeout is released when the
	// stream ends.
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	stream, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelOnEnd{ClientStream: stream, cancel: cancel}, nil
}

type cancelOnEnd struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func (s *cancelOnEnd) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}

// retriedMethods are the calls a retry cannot turn into a different outcome,
// as the contract declares them: the unary RPCs whose idempotency_level is
// NO_SIDE_EFFECTS (reads) or IDEMPOTENT (SetWorking, and AppendMessages,
// which always carries an idempotency key). The others may have applied
// before the reply was lost; retried, they would store twice or answer
// NOT_FOUND, so their UNAVAILABLE goes to the caller.
var retriedMethods = func() map[string]bool {
	service := engramv1.File_engram_v1_memory_service_proto.Services().ByName("MemoryService")
	retried := map[string]bool{}
	for i := range service.Methods().Len() {
		method := service.Methods().Get(i)
		level := method.Options().(*descriptorpb.MethodOptions).GetIdempotencyLevel()
		if !method.IsStreamingClient() && !method.IsStreamingServer() && level != descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN {
			retried["/"+string(service.FullName())+"/"+string(method.Name())] = true
		}
	}
	return retried
}()

// RetriedMethods lists the full method names ("/engram.v1.MemoryService/Recall")
// whose UNAVAILABLE the client retries, sorted.
func RetriedMethods() []string {
	return slices.Sorted(maps.Keys(retriedMethods))
}

// retryUnary retries UNAVAILABLE only, and only on retriedMethods. An append
// whose reply was lost may have applied, so each AppendMessages call gets an
// idempotency key (unless the caller set one) that every retry reuses: the
// server applies it once.
func (o options) retryUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if !retriedMethods[method] {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	req = withIdempotencyKey(req)
	delay := o.backoff
	for attempt := 0; ; attempt++ {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if status.Code(err) != codes.Unavailable || attempt >= o.retries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// withIdempotencyKey gives an AppendMessagesRequest without a key a random
// one, on a copy: the caller's message is left as it was, so reusing it for
// the next append is still a new append.
func withIdempotencyKey(req any) any {
	r, ok := req.(*engramv1.AppendMessagesRequest)
	if !ok || r.GetIdempotencyKey() != "" {
		return req
	}
	var random [16]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read never fails (Go 1.24+)
	keyed := proto.Clone(r).(*engramv1.AppendMessagesRequest)
	keyed.IdempotencyKey = hex.EncodeToString(random[:])
	return keyed
}

type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }
