package main

import (
	"os"
	"strconv"
)

// maxUpdatesPerRunKnob reads KAMFLOW_MAX_UPDATES_PER_RUN, a hidden test knob (not a flag, not in
// the help): when set to a number above 0, the deals the API creates continue their workflow as
// new after that many accepted changes (engine.Client.MaxUpdatesPerRun), so that an end-to-end
// test sees several runs of one deal within a few hundred changes. Unset or invalid, it is 0: the
// workflows continue as new when the Temporal server suggests, as in production.
func maxUpdatesPerRunKnob() int {
	n, err := strconv.Atoi(os.Getenv("KAMFLOW_MAX_UPDATES_PER_RUN"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
