package kamflow

import (
	"context"
	"time"
)

// Sign-in throttling. Every attempt takes a reservation in the database before its password is
// checked, in one transaction that first sees the attempts already counted (under a lock, so that
// attempts sent together are counted one after the other, by however many API processes): a
// reservation counts as a failure from the moment it is taken, and only a sign-in that succeeds
// releases it. So no more attempts are ever checked than the limits allow, however many arrive
// at once.
//
// The limits keep one stranger from locking anyone out: five failures lock the pair of a username
// and an address — not the username everywhere — and an address's failures over all usernames
// lock that address. A username's failures from every address together (many addresses guessing
// one password) only slow its sign-ins, from a much higher count on, with delays that double; and
// not from an address the user recently signed in from, so the owner of the account still gets in.

// LoginPolicy is how many failed sign-ins are allowed before further attempts must wait.
type LoginPolicy struct {
	// Window is the time over which the failures of a pair and of an address count.
	Window time.Duration
	// PerPair failures for one username from one address within Window refuse that username's
	// further attempts from that address until the oldest of them is Window old.
	PerPair int
	// PerAddress failures from one address, for any usernames, within Window refuse every
	// attempt from it alike.
	PerAddress int
	// PerUser failures for one username from all addresses together within UserWindow make each
	// further attempt for it wait FirstDelay after the latest failure, twice as long after each
	// further failure, at most MaxDelay — except from a known address.
	PerUser    int
	UserWindow time.Duration
	FirstDelay time.Duration
	MaxDelay   time.Duration
	// KnownFor is how recently a user must have signed in from an address (a session opened from
	// it) for it to be known: the delays of PerUser do not apply there.
	KnownFor time.Duration
}

// DefaultLoginPolicy is kamflow's: 5 failures per username and address, 20 per address, in 15
// minutes; delays from the 50th failure of a username in 24 hours, 1 s doubling to 15 minutes;
// an address is known for 7 days after a sign-in (the time sessions are kept).
var DefaultLoginPolicy = LoginPolicy{
	Window: 15 * time.Minute, PerPair: 5, PerAddress: 20,
	PerUser: 50, UserWindow: 24 * time.Hour, FirstDelay: time.Second, MaxDelay: 15 * time.Minute,
	KnownFor: 7 * 24 * time.Hour,
}

// LoginCounts is what a sign-in's reservation is decided on: the attempts counted (failures and
// reservations not released) as the store read them under its lock.
type LoginCounts struct {
	// PairNth and AddressNth are the times of the PerPair-th and PerAddress-th most recent
	// attempts within Window for the pair and for the address; zero when there are fewer.
	PairNth, AddressNth time.Time
	// User counts the username's attempts from every address within UserWindow; UserLatest is the
	// latest of them.
	User       int
	UserLatest time.Time
	// Known is whether the user signed in from the address within KnownFor.
	Known bool
}

// Wait is how long an attempt at now must wait given the counts; 0 lets it go ahead.
func (p LoginPolicy) Wait(c LoginCounts, now time.Time) time.Duration {
	var wait time.Duration
	for _, nth := range []time.Time{c.PairNth, c.AddressNth} {
		if !nth.IsZero() {
			wait = max(wait, nth.Add(p.Window).Sub(now))
		}
	}
	if c.User >= p.PerUser && !c.Known {
		wait = max(wait, c.UserLatest.Add(p.Delay(c.User)).Sub(now))
	}
	return max(wait, 0)
}

// Delay is how long after the latest failure a username with n failures across addresses waits:
// nothing below PerUser, then FirstDelay, doubling with each failure, at most MaxDelay.
func (p LoginPolicy) Delay(n int) time.Duration {
	if n < p.PerUser {
		return 0
	}
	d := p.FirstDelay
	for i := p.PerUser; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// LoginThrottle keeps the sign-in attempts, in the database that every API process shares.
type LoginThrottle interface {
	// ReserveLogin takes an attempt for the username (compared as UsernameKey) from the address at
	// time at, if the policy lets it go ahead: deciding and recording are one step, so that
	// attempts made together are decided one after the other. The reservation counts as a failure
	// until released. When the attempt must wait, it records nothing and returns how long (> 0).
	// An empty address is no one's in particular: it has no address limit.
	ReserveLogin(ctx context.Context, username, address string, at time.Time, p LoginPolicy) (reservation int64, wait time.Duration, err error)
	// ReleaseLogin forgets the reservation of a sign-in that succeeded.
	ReleaseLogin(ctx context.Context, reservation int64) error
}
