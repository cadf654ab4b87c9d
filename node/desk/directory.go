package desk

import (
	"context"
	"strings"
	"time"

	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Agencies lists the hub's directory, below a code if under is not
// empty. A full listing refreshes the copy the register keeps, from which
// names are shown beside codes while the hub is away.
func (d *Desk) Agencies(ctx context.Context, under string) ([]*lienthongv1.Agency, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	list, err := c.Agencies(ctx, under)
	if err != nil {
		return nil, err
	}
	if under == "" {
		d.remember(list)
	}
	return list, nil
}

// remember keeps a full directory listing, in memory and in the register.
func (d *Desk) remember(list []*lienthongv1.Agency) {
	names := make(map[string]register.Agency, len(list))
	cached := make([]register.Agency, 0, len(list))
	for _, a := range list {
		e := register.Agency{Code: a.GetCode(), Name: a.GetName(), Kind: KindName(a.GetKind()),
			Active: a.GetStatus() == lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE}
		names[e.Code] = e
		cached = append(cached, e)
	}
	d.mu.Lock()
	d.names, d.namesCached, d.namesAt = names, false, d.now()
	d.mu.Unlock()
	// The cache only saves a round trip later: a register that cannot
	// take it is not this listing's failure.
	_ = d.reg.SaveDirectory(cached)
}

// Name returns an agency's name from the directory: the hub's listing,
// fetched at the first call and again when a code is missing from it (at
// most every directoryRetry), else the register's copy. A group
// (KIND:CODE) is named by its code's agency. "" when unknown.
func (d *Desk) Name(ctx context.Context, code string) string {
	if _, c, ok := strings.Cut(code, ":"); ok {
		code = c
	}
	d.mu.Lock()
	names := d.names
	_, known := names[code]
	// While the names come from the register's copy, the hub is asked
	// again for a code the copy lacks, and after directoryRetry; a code
	// the hub's listing lacked (an agency added since) after
	// directoryRetry.
	old := d.now().Sub(d.namesAt) > directoryRetry
	stale := names == nil || (d.c != nil && ((d.namesCached && (!known || old)) || (!known && old)))
	d.mu.Unlock()
	if stale {
		names = d.loadNames(ctx)
	}
	return names[code].Name
}

// directoryRetry is how long a directory is used before the hub is asked
// again: for a code it lacks, or for any code when it is the register's
// copy (the hub did not answer).
const directoryRetry = time.Minute

// loadNames fills the in-memory directory: from the hub, or the
// register's copy when the hub does not answer.
func (d *Desk) loadNames(ctx context.Context) map[string]register.Agency {
	if d.c != nil {
		if _, err := d.Agencies(ctx, ""); err == nil {
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.names
		}
	}
	names := map[string]register.Agency{}
	if dir, err := d.reg.Directory(); err == nil {
		for _, a := range dir.Agencies {
			names[a.Code] = a
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names == nil || d.namesCached {
		d.names, d.namesCached = names, true
	}
	d.namesAt = d.now()
	return d.names
}

// Named is "Name (CODE)", or the code alone when the name is unknown.
func (d *Desk) Named(ctx context.Context, code string) string {
	if n := d.Name(ctx, code); n != "" {
		return n + " (" + code + ")"
	}
	return code
}

// KindName is an agency kind's name in JSON: province, department,
// district, commune...
func KindName(k lienthongv1.AgencyKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "AGENCY_KIND_"))
}
