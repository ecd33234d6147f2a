// Package activities holds the side effects of the deal workflows: writing each accepted change
// of a deal to the database projection and delivering notifications. Every activity is
// idempotent, because Temporal retries them and may run one more than once.
package activities

import (
	"context"

	"github.com/kamflow/kamflow"
)

// Activities are registered on the worker; their stores are the database's.
type Activities struct {
	Deals         kamflow.DealStore
	Notifications kamflow.NotificationStore
}

// ProjectDeal writes one accepted change of a deal (and its stage-history row, if any) to the
// store. The store's sequence guard makes retries and reordered deliveries harmless.
func (a *Activities) ProjectDeal(ctx context.Context, p kamflow.Projection) error {
	return a.Deals.Project(ctx, p)
}

// Notify stores in-app notifications; each carries a key, so a retry stores nothing twice.
func (a *Activities) Notify(ctx context.Context, n []kamflow.Notification) error {
	return a.Notifications.Notify(ctx, n)
}
