// Package metadata stands in for google.golang.org/grpc/metadata as of gRPC v1.29, for
// the fixtures (there is no module proxy here): FromIncomingContext returns the map the
// context holds, not a copy.
package metadata

import (
	"context"
	"strings"
)

// MD is a mapping from metadata keys to values.
type MD map[string][]string

// Pairs returns an MD formed by the mapping of key, value pairs.
func Pairs(kv ...string) MD {
	md := MD{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		md[k] = append(md[k], kv[i+1])
	}
	return md
}

// Copy returns a copy of md.
func (md MD) Copy() MD {
	out := make(MD, len(md))
	for k, v := range md {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Get returns the values for key k.
func (md MD) Get(k string) []string {
	return md[strings.ToLower(k)]
}

// Set sets the values for key k.
func (md MD) Set(k string, vals ...string) {
	md[strings.ToLower(k)] = vals
}

type mdIncomingKey struct{}

// NewIncomingContext creates a new context with incoming md attached.
func NewIncomingContext(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, mdIncomingKey{}, md)
}

// FromIncomingContext returns the incoming metadata in ctx if it exists. The returned MD
// should not be modified. Writing to it may cause races.
func FromIncomingContext(ctx context.Context) (MD, bool) {
	md, ok := ctx.Value(mdIncomingKey{}).(MD)
	return md, ok
}
