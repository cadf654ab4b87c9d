// Package lienthong holds the domain of the provincial document-exchange hub
// that every other package shares: agency codes and their tree, and the
// error kinds that the gRPC edge maps to status codes in one place.
//
// It imports nothing of the project; see docs/design.md for the whole shape.
package lienthong
