package kamflow

import "strings"

// Stage is one of the six sales stages. They mirror the customer's own procurement process.
type Stage string

// The six stages, in order.
const (
	Development Stage = "development" // 开发阶段: find, assess and grade the opportunity
	Entry       Stage = "entry"       // 销售进入阶段: map the buying center, find an insider
	Proposal    Stage = "proposal"    // 提案阶段: demos, visits, proposal; shape the purchasing criteria
	Bid         Stage = "bid"         // 投标阶段: bid against the tender at a sound margin
	Negotiation Stage = "negotiation" // 商务谈判阶段: negotiate, approve and sign the contract
	Delivery    Stage = "delivery"    // 工程实施阶段: implement, accept, close
)

// Stages lists the stages in order.
var Stages = []Stage{Development, Entry, Proposal, Bid, Negotiation, Delivery}

// Index is the stage's position (0 for development), or -1 for an unknown stage.
func (s Stage) Index() int {
	for i, st := range Stages {
		if st == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is one of the six stages.
func (s Stage) Valid() bool { return s.Index() >= 0 }

// Next returns the stage after s; ok is false for delivery, the last one.
func (s Stage) Next() (next Stage, ok bool) {
	i := s.Index()
	if i < 0 || i == len(Stages)-1 {
		return "", false
	}
	return Stages[i+1], true
}

// ParseStage parses a stage name.
func ParseStage(v string) (Stage, error) {
	s := Stage(strings.ToLower(strings.TrimSpace(v)))
	if !s.Valid() {
		return "", Errorf(EINVALID, "unknown stage %q (want one of development, entry, proposal, bid, negotiation, delivery)", v)
	}
	return s, nil
}

// Status is where a deal stands as a sale.
type Status string

// Deal statuses. A won deal is still active: it goes on through delivery until the project is
// closed (delivered). Lost, withdrawn, abandoned and delivered are final.
const (
	StatusOpen      Status = "open"
	StatusWon       Status = "won"       // contract signed
	StatusLost      Status = "lost"      // another supplier won, or the project died
	StatusWithdrawn Status = "withdrawn" // we left the competition (选择退出竞争)
	StatusAbandoned Status = "abandoned" // the opportunity failed its assessment
	StatusDelivered Status = "delivered" // accepted and closed
)

// Statuses lists every status.
var Statuses = []Status{StatusOpen, StatusWon, StatusLost, StatusWithdrawn, StatusAbandoned, StatusDelivered}

// Final reports whether no further work can be done on a deal in this status.
func (s Status) Final() bool {
	return s == StatusLost || s == StatusWithdrawn || s == StatusAbandoned || s == StatusDelivered
}

// ParseStatus parses a status name.
func ParseStatus(v string) (Status, error) {
	for _, s := range Statuses {
		if string(s) == strings.ToLower(strings.TrimSpace(v)) {
			return s, nil
		}
	}
	return "", Errorf(EINVALID, "unknown status %q (want one of open, won, lost, withdrawn, abandoned, delivered)", v)
}
