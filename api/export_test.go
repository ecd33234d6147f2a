package api

import "github.com/google/uuid"

// DealIDForKey is the ID of the deal that a creation with this scoped Idempotency-Key opens.
func DealIDForKey(scopedKey string) string {
	return uuid.NewSHA1(dealIDSpace, []byte(scopedKey)).String()
}
