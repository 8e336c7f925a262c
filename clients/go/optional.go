package engram

// Helpers for the requests' optional fields, which the generated code holds
// as pointers (proto3 `optional`: unset differs from the zero value):
//
//	&engramv1.RememberRequest{..., Importance: engram.Float32(0.8)}

// Float32 returns a pointer to v.
func Float32(v float32) *float32 { return &v }

// Int32 returns a pointer to v.
func Int32(v int32) *int32 { return &v }

// Bool returns a pointer to v.
func Bool(v bool) *bool { return &v }

// String returns a pointer to v.
func String(v string) *string { return &v }
