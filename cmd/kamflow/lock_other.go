//go:build !unix

package main

// lockDataDir does not lock where flock is missing; a second `kamflow dev` on the same data
// then fails on the database instead.
func lockDataDir(string) (func(), error) { return func() {}, nil }
