package exchange

import "github.com/lienthong/lienthong/internal/rpcerr"

// toStatus converts a domain error to the gRPC status the node sees.
func toStatus(err error) error { return rpcerr.Status(err) }
