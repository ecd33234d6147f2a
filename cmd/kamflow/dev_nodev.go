//go:build nodev

package main

import (
	"context"
	"errors"
	"log/slog"
)

// runDev is refused in a build with -tags nodev (the production image's): such a binary has no
// embedded Temporal server, none of go.temporal.io/server linked in.
func runDev(context.Context, *slog.Logger, []string) error {
	return errors.New("this build has no dev command (built with -tags nodev, without the embedded Temporal server); use kamflow serve and kamflow worker against a Temporal cluster")
}
