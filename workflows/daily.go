package workflows

import "github.com/kamflow/kamflow/activities"

// dailyStepsChange is the GetVersion of the daily run whose steps run independently: the stale
// contacts are marked and the digests sent at the same time, each retried on its own, so that
// neither delays, repeats or cancels the other. Runs from before it marked the contacts first and
// then sent the digests, and replay so.
const dailyStepsChange = "daily-steps-independent"

// DailyResult is DigestWorkflow's result: the digest's (activities.SendDigests), and what the
// marking of stale contacts did (activities.Contacts.MarkStaleContacts), or why it failed. The
// digest's fields are at the top level, as the workflow answered before it reported the marking.
type DailyResult struct {
	activities.DigestResult
	// StaleContacts is what the marking did; nil when it failed (StaleContactsError says why) or
	// did not run.
	StaleContacts *activities.StaleResult `json:"stale_contacts,omitempty"`
	// StaleContactsError is why the marking failed for good; the digests went out all the same.
	StaleContactsError string `json:"stale_contacts_error,omitempty"`
}
