package engram

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is every error a Client call returns. Code is the gRPC status:
// InvalidArgument (the message names the field), NotFound,
// ResourceExhausted (the message names the limit), PermissionDenied,
// Unavailable (a backend or the server could not be reached; reads are
// retried), DeadlineExceeded, Canceled.
//
// Match it with errors.As, or a code with errors.Is and the sentinels:
//
//	var e *engram.Error
//	if errors.As(err, &e) && e.Code() == codes.NotFound { ... }
//	if errors.Is(err, engram.ErrNotFound) { ... }
//
// When the caller's context ended the call, errors.Is(err, context.Canceled)
// and errors.Is(err, context.DeadlineExceeded) hold. status.Code(err) works
// too (Error has GRPCStatus).
type Error struct {
	code     codes.Code
	message  string
	details  []any
	cause    error
	sentinel bool
}

// Code is the gRPC status code.
func (e *Error) Code() codes.Code { return e.code }

// Message is the server's message, e.g. `top_k: must be an integer from 1 to 100`.
func (e *Error) Message() string { return e.message }

// Details are the status's error details (protobuf messages), if any.
func (e *Error) Details() []any { return e.details }

func (e *Error) Error() string { return "engram: " + codeName(e.code) + ": " + e.message }

// Unwrap is the caller's context error when the context ended the call.
func (e *Error) Unwrap() error { return e.cause }

// Is matches the sentinel of the same code (ErrNotFound, ErrInvalidArgument, ...).
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.sentinel && t.code == e.code
}

// GRPCStatus lets status.Code and status.Convert read the error.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.code, e.message) }

func sentinel(code codes.Code, message string) *Error {
	return &Error{code: code, message: message, sentinel: true}
}

// Sentinels for errors.Is, one per code a caller commonly acts on.
var (
	ErrNotFound          = sentinel(codes.NotFound, "not found")
	ErrInvalidArgument   = sentinel(codes.InvalidArgument, "invalid argument")
	ErrUnavailable       = sentinel(codes.Unavailable, "unavailable")
	ErrResourceExhausted = sentinel(codes.ResourceExhausted, "resource exhausted")
	ErrPermissionDenied  = sentinel(codes.PermissionDenied, "permission denied")
	ErrUnauthenticated   = sentinel(codes.Unauthenticated, "unauthenticated")
	ErrDeadlineExceeded  = sentinel(codes.DeadlineExceeded, "deadline exceeded")
)

// toError turns what gRPC returned into an *Error, keeping the caller's
// context error (ctx is the context the caller passed) for errors.Is.
func toError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	s := status.Convert(err)
	e := &Error{code: s.Code(), message: s.Message(), details: s.Details()}
	switch {
	case ctx.Err() != nil && (e.code == codes.Canceled || e.code == codes.DeadlineExceeded):
		e.cause = ctx.Err()
	case e.code == codes.DeadlineExceeded:
		// The client's default timeout (WithTimeout) ended it.
		e.cause = context.DeadlineExceeded
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.cause = err
	}
	return e
}

// codeName is the status name as the gRPC specification writes it: NOT_FOUND.
func codeName(code codes.Code) string {
	if code == codes.Canceled {
		return "CANCELLED"
	}
	var b strings.Builder
	for i, r := range code.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
